package agentcli

import (
	"flag"
	"fmt"
	"io"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
)

const serviceUsage = `usage: ferry-agent service run --root ROOT --name NAME [--environment ENV]

Hosts the app of a target as a service (run_as: service): reads ROOT's
state.json, runs the current release, restarts it with backoff when it
exits, and stops it gracefully when the service stops. The agent writes
this command line into the Windows service it creates; run by hand it
stays in the foreground until interrupted.
`

// serviceMain runs `ferry-agent service ...`.
func serviceMain(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprint(stderr, serviceUsage)
		return exitcode.Usage
	}
	fs := flag.NewFlagSet("ferry-agent service run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts agent.ServiceHostOptions
	fs.StringVar(&opts.Root, "root", "", "the target's root directory")
	fs.StringVar(&opts.Name, "name", "", "the service's name")
	fs.StringVar(&opts.Environment, "environment", "", "the environment, passed to the app as FERRY_ENVIRONMENT")
	if err := fs.Parse(args[1:]); err != nil {
		return exitcode.Usage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ferry-agent service run: unexpected argument %q\n", fs.Arg(0))
		return exitcode.Usage
	}
	host, err := agent.ServiceHost(opts)
	if err != nil {
		fmt.Fprintf(stderr, "ferry-agent service run: %v\n", err)
		return exitcode.Usage
	}
	return host.Serve(stderr)
}
