//go:build !windows

package supervise

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// serve runs the host in the foreground until SIGINT or SIGTERM. systemd
// units run the release's command directly, so on Unix the host exists for
// tests and for people who want to watch a target by hand.
func (h Host) serve(log *hostLog, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return h.foreground(ctx, log, stderr)
}
