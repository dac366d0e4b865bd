package agentcli

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
	"github.com/ferryhq/ferry/internal/proxy"
)

const proxyUsage = `usage: ferry-agent proxy --config FILE

Runs the zero-downtime proxy of a target: listens on the address FILE (the
root's proxy.json) names and forwards to its active port, follows every
change of FILE (switch, then drain the old port), and reports what it
applied in proxy.status.json beside it. Killed and started again, it
serves what FILE says. SIGINT and SIGTERM shut it down gracefully. See
docs/proxy.md.
`

// proxyMain runs `ferry-agent proxy ...` in the foreground.
func proxyMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ferry-agent proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, proxyUsage) }
	config := fs.String("config", "", "the proxy's control file (ROOT/proxy.json)")
	if err := fs.Parse(args); err != nil {
		return exitcode.Usage
	}
	if *config == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, proxyUsage)
		return exitcode.Usage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := proxy.Run(ctx, proxy.RunOptions{StatePath: *config, Log: log.New(stderr, "", log.LstdFlags|log.LUTC)})
	if err != nil {
		fail.Format(stderr, err)
		return fail.Code(err)
	}
	return exitcode.OK
}
