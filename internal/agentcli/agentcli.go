// Package agentcli is the command line of ferry-agent, the binary that
// runs on each server. It reads one spec, runs it, and prints compact JSON
// event lines with the result last, because SSM returns only the first
// 24,000 bytes of output: everything verbose goes to log files instead.
package agentcli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/version"
)

const usage = `usage: ferry-agent OP [--spec-b64 SPEC | --spec-file FILE] [--result-only]

OP is apply, rollback, status, releases, unlock, repair or doctor, and must
match the spec's op. SIGINT, SIGTERM and SIGHUP stop the operation the same
way: its children are killed, the lock released, and the result still
printed. The spec may also come from the FERRY_AGENT_SPEC variable.
ferry-agent version prints the version.

Exit codes: 0 deployed and healthy; 1 failed, nothing changed; 2 usage or
invalid spec; 3 rolled back; 4 rollback failed; 5 locked; 6 refused.
`

// Main runs the agent with args (without the program name) and returns
// the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitcode.Usage
		}
		return exitcode.OK
	}
	if args[0] == "version" {
		fmt.Fprintf(stdout, "ferry-agent %s protocol %d\n", version.Get(), agent.Protocol)
		return exitcode.OK
	}
	if args[0] == "service" {
		return serviceMain(args[1:], stderr)
	}
	if args[0] == emptyTrashOp && len(args) == 2 {
		// Started by sweepAfter, detached: nobody reads its exit code.
		agent.EmptyTrash(args[1])
		return exitcode.OK
	}
	op := args[0]
	fs := flag.NewFlagSet("ferry-agent "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	specB64 := fs.String("spec-b64", "", "the spec, base64url JSON")
	specFile := fs.String("spec-file", "", "a file holding the spec as JSON")
	resultOnly := resultOnlyFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return exitcode.Usage
	}
	enc := json.NewEncoder(stdout)
	fail := func(msg string) int {
		res := agent.Result{Op: op, Outcome: agent.OutcomeInvalid, ExitCode: exitcode.Usage, Error: msg, Hints: []string{"run ferry-agent --help"}}
		enc.Encode(agent.Event{Event: agent.EventResult, Result: &res})
		return exitcode.Usage
	}
	var spec agent.Spec
	var err error
	switch {
	case *specB64 != "":
		spec, err = agent.DecodeSpec(*specB64)
	case *specFile != "":
		var b []byte
		b, err = os.ReadFile(*specFile)
		if err == nil {
			spec, err = agent.ParseSpec(b)
		}
	case os.Getenv("FERRY_AGENT_SPEC") != "":
		spec, err = agent.DecodeSpec(os.Getenv("FERRY_AGENT_SPEC"))
	default:
		return fail("no spec: give --spec-b64, --spec-file or FERRY_AGENT_SPEC")
	}
	if err != nil {
		return fail(fmt.Sprintf("invalid spec: %v", err))
	}
	if spec.Op != op {
		return fail(fmt.Sprintf("the command says %s but the spec says %s", op, spec.Op))
	}
	// SIGTERM (timeout, systemd, a cancelled CI job) and SIGHUP (a closed
	// terminal) are Ctrl-C: the operation is cancelled, its children's
	// groups killed, the lock released, and the result still printed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	emit := func(ev agent.Event) {
		ev.Time = time.Now().UTC().Format("15:04:05.000")
		enc.Encode(ev)
	}
	emit = resultOnly(emit)
	res := agent.Run(ctx, spec, agent.Options{Emit: emit, Fault: os.Getenv("FERRY_AGENT_FAULT")})
	enc.Encode(agent.Event{Event: agent.EventResult, Result: &res})
	sweepAfter(spec.Root)
	return res.ExitCode
}

// emptyTrashOp is the hidden command that removes what pruning moved
// into ROOT/trash.
const emptyTrashOp = "empty-trash"
