package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport"
)

// ExecOptions are ferry exec's.
type ExecOptions struct {
	Common
	// Env is the environment whose serving release runs the command.
	Env string
	// All runs it on every server of Env (--all), not one.
	All bool
	// Command is the argument vector to run.
	Command []string
	// Timeout bounds the command (--timeout); zero leaves it to the
	// transport's own bound.
	Timeout time.Duration
}

// NewCmdExec is ferry exec; runF as for NewCmdDeploy.
func NewCmdExec(f *Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "exec ENV [--all] -- CMD [ARGS...]",
		Short: "Run a command in the serving release, with its venv and environment",
		Long: `Run a command in the release that serves ENV, as that release runs its
app: in its directory, with its venv's programs first (python, flask,
alembic are the venv's), its env: variables and env file, FERRY_SHA and
FERRY_RELEASE. The command is an argument vector, never a shell string.
It runs on one server (the first by instance ID), or with --all on every
server of ENV through SSM, each one's output shown under its name; the
output is also appended to the release's log on the server. ferry exec
exits with the command's exit status (with --all, the first non-zero
one). It takes no deploy lock.

  ferry exec production -- flask --app flaskr init-db
  ferry exec staging --all -- python -m pip list`,
		Args: usageArgs(func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("give the environment and the command: ferry exec ENV -- CMD [ARGS...]")
			}
			if dash := cmd.ArgsLenAtDash(); dash > 1 {
				return fmt.Errorf("one environment before --, then the command (got %q)", strings.Join(args[:dash], " "))
			}
			return nil
		}),
		RunE: runE(opts, &opts.Common, func(args []string) { opts.Env, opts.Command = args[0], args[1:] }, runF, runExec),
		PreRunE: func(*cobra.Command, []string) error {
			if opts.Timeout < 0 {
				return fail.Usage(fmt.Errorf("--timeout %s is negative", opts.Timeout), "give a duration such as 10m")
			}
			return nil
		},
	}
	// The command's own options come after --, where ferry reads none.
	cmd.Flags().BoolVar(&opts.All, "all", false, "run on every server of ENV, not one")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "stop the command after this long")
	return cmd
}

// execResult is ferry exec's --json result.
type execResult struct {
	Environment string `json:"environment"`
	App         string `json:"app"`
	// ExitCode is the command's (the first non-zero one of all servers).
	ExitCode int              `json:"exit_code"`
	Targets  []execTargetJSON `json:"targets"`
}

// execTargetJSON is one server's run of the command.
type execTargetJSON struct {
	Target string `json:"target"`
	// Result is the agent's, with the command's release, argv, exit
	// status and output under exec.
	Result agent.Result `json:"result"`
}

// runExec runs the command and prints each server's output.
func runExec(opts *ExecOptions) error {
	opts.one = !opts.All
	t, err := opts.loadTarget(opts.Env, false)
	if err != nil {
		return err
	}
	spec := t.baseSpec(agent.OpExec)
	spec.Command, spec.CommandTimeout = opts.Command, opts.Timeout
	// The serving release records how it runs; this spec does not say.
	spec.Start, spec.Vars, spec.EnvFile, spec.Shared = nil, nil, "", nil
	results, err := t.tr.Run(opts.context(), spec, nil)
	if err != nil {
		return err
	}
	res := &execResult{Environment: t.name, App: t.cfg.App}
	for _, r := range results {
		res.Targets = append(res.Targets, execTargetJSON{Target: r.Target, Result: r.Result})
	}
	code, failed := execOutcome(results)
	res.ExitCode = code
	opts.setResult(res)
	if !opts.JSON {
		printExec(opts.Common, results)
	}
	if failed != nil {
		return failed
	}
	if code != 0 {
		return fail.New(code, reported(fmt.Errorf("the command exited with status %d", code)))
	}
	return nil
}

// execOutcome is the first non-zero exit status of the command, and the
// error of servers where it could not run.
func execOutcome(results []transport.TargetResult) (int, error) {
	code := 0
	var failed []error
	for _, r := range results {
		if r.Result.ExitCode != 0 {
			failed = append(failed, fmt.Errorf("exec on %s: %w", r.Target, r.Result.Err()))
			continue
		}
		if r.Result.Exec == nil {
			failed = append(failed, fmt.Errorf("exec on %s: the agent gave no exec result: it is older than this ferry", r.Target))
			continue
		}
		if c := r.Result.Exec.ExitCode; c != 0 && code == 0 {
			code = c
		}
	}
	if len(failed) > 0 {
		err := failed[0]
		for _, e := range failed[1:] {
			err = fmt.Errorf("%w; %v", err, e)
		}
		return code, fail.New(exitcode.Failed, err)
	}
	return code, nil
}

// printExec writes the command's output: as is from one server, under
// each server's name from several.
func printExec(c Common, results []transport.TargetResult) {
	for _, r := range results {
		e := r.Result.Exec
		if e == nil {
			continue
		}
		if len(results) > 1 {
			fmt.Fprintf(c.Out, "== %s: %s (exit %d)\n", r.Target, e.Release, e.ExitCode)
		}
		if e.Truncated {
			fmt.Fprintf(c.Err, "%s: the output's beginning is cut (the whole of it is in shared/logs/app-%s.log)\n", r.Target, e.Release)
		}
		fmt.Fprint(c.Out, e.Output)
		if e.Output != "" && !strings.HasSuffix(e.Output, "\n") && len(results) > 1 {
			fmt.Fprintln(c.Out)
		}
	}
}
