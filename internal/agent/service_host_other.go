//go:build !windows

package agent

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferryhq/ferry/internal/exitcode"
)

// serveService runs the host in the foreground until SIGINT or SIGTERM.
// systemd units run the release's command directly, so on Unix the host
// exists for tests and for people who want to watch a target by hand.
func serveService(opts ServiceHostOptions, log *hostLog, stderr io.Writer) int {
	log.echo = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.printf("service host %s for %s (foreground)", opts.Name, opts.Root)
	if err := runHost(ctx, opts, log); err != nil {
		log.printf("service host failed: %v", err)
		return exitcode.Failed
	}
	return exitcode.OK
}
