package proxy

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

const usage = `usage: ferry-proxy --config FILE

Runs the zero-downtime proxy of a target: listens on the address FILE (the
root's proxy.json) names and forwards to its active port, follows every
change of FILE (switch, then drain the old port), and reports what it
applied in proxy.status.json beside it. Killed and started again, it
serves what FILE says. SIGINT and SIGTERM shut it down gracefully. See
docs/proxy.md.

Exit codes: 0 shut down by a signal; 1 failed; 2 usage.
`

// Main is ferry-proxy's command line; it returns the exit code.
func Main(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ferry-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	config := fs.String("config", "", "the proxy's control file (ROOT/proxy.json)")
	if err := fs.Parse(args); err != nil {
		return exitcode.Usage
	}
	if *config == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, usage)
		return exitcode.Usage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, RunOptions{StatePath: *config, Log: log.New(stderr, "", log.LstdFlags|log.LUTC)})
	if err != nil {
		fail.Format(stderr, err)
		return fail.Code(err)
	}
	return exitcode.OK
}
