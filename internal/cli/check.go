package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/gitrepo"
)

// CheckOptions are ferry check's.
type CheckOptions struct {
	Common
	// JUnit and SARIF are report files to write (--junit, --sarif),
	// relative to the working directory.
	JUnit string
	SARIF string
	// Env includes this environment's variables (--env).
	Env string
}

// NewCmdCheck is ferry check; runF as for NewCmdDeploy.
func NewCmdCheck(f *Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run the quality gates (tests, audit, lint, smoke import, env, pip check) in parallel",
		Long: `Run the gates configured under gates: in ferry.yml, in parallel, on the
app directory of this work tree. Exit 0 when every blocking gate passes, 6
when one fails, 2 for bad configuration. With GITHUB_STEP_SUMMARY set, a
Markdown report is added to the job summary.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(opts, &opts.Common, nil, runF, runCheck),
	}
	cmd.Flags().StringVar(&opts.JUnit, "junit", "", "write a combined JUnit XML report (each gate a suite, each test a case)")
	cmd.Flags().StringVar(&opts.SARIF, "sarif", "", "write bandit and flake8 findings as SARIF 2.1.0 (GitHub code scanning)")
	cmd.Flags().StringVar(&opts.Env, "env", "", "include this environment's variables (for the env gate)")
	return cmd
}

// runCheck runs the gates on the work tree; a failing blocking gate exits 6.
func runCheck(opts *CheckOptions) error {
	p, err := opts.loadProject("")
	if err != nil {
		return err
	}
	cfg := p.cfg
	appDir := p.dir
	if cfg.HasKey("dir") {
		repo, err := gitrepo.Open(appDir)
		if err != nil {
			return fail.New(exitcode.Usage, err, "dir: is relative to the repository; run inside it")
		}
		appDir = filepath.Join(repo.Dir, filepath.FromSlash(cfg.Dir))
	}
	if opts.Env != "" {
		if _, ok := cfg.Environments[opts.Env]; !ok {
			return fail.New(exitcode.Usage, fmt.Errorf("unknown environment %q", opts.Env), "name one of "+fmt.Sprint(cfg.EnvironmentNames()))
		}
	}
	rep, err := opts.runGates(opts.context(), cfg, appDir, opts.Env)
	if err != nil {
		return err
	}
	opts.setResult(rep)
	prefix := repoPrefix(appDir)
	if err := opts.writeGateReports(rep, opts.JUnit, opts.SARIF, prefix); err != nil {
		return err
	}
	if !opts.JSON {
		opts.showGates(opts.Out, rep, prefix)
	}
	if !rep.Passed {
		return fail.New(exitcode.Refused, reported(fmt.Errorf("blocking gate %v failed", rep.BlockingFailures())),
			"fix what the gates report; a gate that should not block can say blocking: false in ferry.yml")
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// runGates runs cfg's gates in appDir with the environment's variables,
// a line on stderr as each finishes, and the Markdown report in the job
// summary in GitHub Actions.
func (c Common) runGates(ctx context.Context, cfg *config.Config, appDir, env string) (*gates.Report, error) {
	p := c.painter()
	opts := gates.Options{
		AppDir: appDir, Env: cfg.AppEnv(env), Requirements: cfg.Requirements, Start: cfg.Start,
		Progress: func(ev gates.Event) { gateProgress(c.Err, p, ev) },
	}
	rep, err := gates.Run(ctx, cfg.Gates, opts)
	if err != nil {
		return rep, fmt.Errorf("run gates: %w", err)
	}
	if md := c.Getenv("GITHUB_STEP_SUMMARY"); md != "" && c.CI.Actions {
		var b bytes.Buffer
		gates.WriteMarkdown(&b, rep)
		appendStepSummary(md, c.redact.text(b.String()))
	}
	return rep, nil
}

// gatesTerminal is the gates' report for people, coloured as stderr is.
func gatesTerminal(w io.Writer, rep *gates.Report, p ansi.Painter) {
	gates.WriteTerminal(w, rep, p.On)
}

// gateProgress prints a line as each gate finishes.
func gateProgress(w io.Writer, p ansi.Painter, ev gates.Event) {
	if ev.Kind != gates.EventFinished || ev.Result == nil {
		return
	}
	r := ev.Result
	mark := p.Paint(ansi.Green, "✓")
	switch r.Status {
	case gates.StatusFailed, gates.StatusError, gates.StatusTimeout:
		mark = p.Paint(ansi.Red, "✗")
		if !r.Blocking {
			mark = p.Paint(ansi.Yellow, "!")
		}
	case gates.StatusWarned, gates.StatusMissing:
		mark = p.Paint(ansi.Yellow, "!")
	case gates.StatusSkipped:
		mark = p.Paint(ansi.Dim, "–")
	}
	fmt.Fprintf(w, "  %s %-8s %s %s\n", mark, r.Name, p.Paint(ansi.Dim, fmtMS(r.Duration.Milliseconds())), r.Summary)
}
