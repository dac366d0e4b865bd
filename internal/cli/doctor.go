package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
	"github.com/ferryhq/ferry/internal/version"
)

// DoctorOptions are ferry doctor's.
type DoctorOptions struct {
	Common
	// Env is the environment to check.
	Env string
}

// doctorResult is ferry doctor's --json result.
type doctorResult struct {
	Environment string         `json:"environment"`
	OK          bool           `json:"ok"`
	Account     string         `json:"account,omitempty"`
	ARN         string         `json:"arn,omitempty"`
	Checks      []agent.Check  `json:"checks"`
	Servers     []doctorServer `json:"servers"`
}

type doctorServer struct {
	Target       string        `json:"target"`
	OK           bool          `json:"ok"`
	AgentVersion string        `json:"agent_version,omitempty"`
	Checks       []agent.Check `json:"checks"`
	Error        string        `json:"error,omitempty"`
}

// doctorTransport is a transport that checks its AWS side itself (ssm).
type doctorTransport interface {
	Doctor(ctx context.Context, spec agent.Spec, progress transport.Progress) (*ssm.Doctor, error)
}

// NewCmdDoctor is ferry doctor; runF as for NewCmdDeploy.
func NewCmdDoctor(f *Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "doctor ENV",
		Short: "Check everything a deploy to ENV needs, each line ✓ or ✗ with what to fix",
		Long: `Check, without changing anything that serves, everything a deploy to ENV
needs: the AWS credentials and whose they are (STS GetCallerIdentity), the
region, the bucket (exists, its region, writable), every instance (Online,
platform, SSM Agent version), the ferry-agent binaries for their platforms,
the document, and on each server, through one read-only command: the agent
runs (its version), the root is writable, the interpreter and its version,
free disk, and on Windows LongPathsEnabled, 64-bit PowerShell and the
account. A local environment checks this machine. Exit 1 when a check
fails.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runDoctor),
	}
}

func runDoctor(opts *DoctorOptions) error {
	t, err := opts.loadTarget(opts.Env, false)
	if err != nil {
		return err
	}
	ctx := opts.context()
	spec := t.baseSpec(agent.OpDoctor)
	spec.Python = t.cfg.Python
	if t.cfg.Runtime != config.RuntimePython {
		spec.Python = agent.NoPython // a node or self-contained app needs no interpreter
	}
	res := &doctorResult{Environment: t.name, Checks: []agent.Check{}, Servers: []doctorServer{}}
	var results []transport.TargetResult
	if dt, ok := t.tr.(doctorTransport); ok {
		d, err := dt.Doctor(ctx, spec, nil)
		if d != nil {
			res.Account, res.ARN, res.Checks, results = d.Account, d.ARN, d.Checks, d.Results
		}
		if err != nil {
			return err
		}
	} else {
		if results, err = t.tr.Run(ctx, spec, nil); err != nil {
			return err
		}
	}
	res.OK = true
	for _, c := range res.Checks {
		res.OK = res.OK && c.OK
	}
	own := version.Get()
	for _, r := range results {
		s := doctorServer{Target: r.Target, OK: r.Result.ExitCode == 0, AgentVersion: r.Result.AgentVersion, Checks: r.Result.Doctor}
		if s.Checks == nil {
			s.Checks = []agent.Check{}
		}
		if !s.OK {
			s.Error = r.Result.Error
		}
		if s.AgentVersion != "" && s.AgentVersion != own.Version && (own.Source == version.SourceRelease || own.Source == version.SourceModule) {
			s.Checks = append(s.Checks, agent.Check{Name: "agent version", OK: true, Warn: true,
				Detail: fmt.Sprintf("the server ran ferry-agent %s; this ferry is %s", s.AgentVersion, own.Version),
				Fix:    "ferry uploads its own agent with every command: a different one means the agents beside ferry (or FERRY_AGENT_DIR) are of another release"})
		}
		res.OK = res.OK && s.OK
		res.Servers = append(res.Servers, s)
	}
	opts.setResult(res)
	if !opts.JSON {
		printDoctor(opts.Out, opts.painter(), res)
	}
	if !res.OK {
		return fail.New(exitcode.Failed, reported(errors.New("doctor: a check failed")), "fix each ✗ line above, then run ferry doctor "+t.name+" again")
	}
	return nil
}

// printDoctor is the report: one line per check, what to fix under a ✗.
func printDoctor(w io.Writer, p ansi.Painter, res *doctorResult) {
	line := func(indent string, c agent.Check) {
		mark := p.Paint(ansi.Green, "✓")
		switch {
		case !c.OK:
			mark = p.Paint(ansi.Red, "✗")
		case c.Warn:
			mark = p.Paint(ansi.Yellow, "!")
		}
		fmt.Fprintf(w, "%s%s %s: %s\n", indent, mark, c.Name, c.Detail)
		if c.Fix != "" && (!c.OK || c.Warn) {
			fmt.Fprintf(w, "%s    fix: %s\n", indent, c.Fix)
		}
	}
	for _, c := range res.Checks {
		line("", c)
	}
	for _, s := range res.Servers {
		mark := p.Paint(ansi.Green, "✓")
		if !s.OK {
			mark = p.Paint(ansi.Red, "✗")
		}
		what := "checked"
		if !s.OK && len(s.Checks) == 0 {
			what = "not checked: " + s.Error
		}
		fmt.Fprintf(w, "%s server %s: %s\n", mark, s.Target, what)
		for _, c := range s.Checks {
			line("    ", c)
		}
	}
	if res.OK {
		fmt.Fprintf(w, "%s is ready to deploy to.\n", res.Environment)
	}
}
