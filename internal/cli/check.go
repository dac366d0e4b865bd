package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/gitrepo"
)

func init() { extraCommands = append(extraCommands, (*app).checkCmd) }

func (a *app) checkCmd() *cobra.Command {
	var junit, sarif, env string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Run the quality gates (tests, audit, lint, smoke import, env, pip check) in parallel",
		Long: `Run the gates configured under gates: in ferry.yml, in parallel, on the
app directory of this work tree. Exit 0 when every blocking gate passes, 6
when one fails, 2 for bad configuration. With GITHUB_STEP_SUMMARY set, a
Markdown report is added to the job summary.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			appDir := filepath.Dir(cfg.File)
			if cfg.HasKey("dir") {
				repo, err := gitrepo.Open(appDir)
				if err != nil {
					return fail.New(exitcode.Usage, err, "dir: is relative to the repository; run inside it")
				}
				appDir = filepath.Join(repo.Dir, filepath.FromSlash(cfg.Dir))
			}
			if env != "" {
				if _, ok := cfg.Environments[env]; !ok {
					return fail.New(exitcode.Usage, fmt.Errorf("unknown environment %q", env), "name one of "+fmt.Sprint(cfg.EnvironmentNames()))
				}
			}
			rep, err := a.runGates(cmd.Context(), cfg, appDir, env)
			if err != nil {
				return err
			}
			if junit != "" {
				if err := writeFile(junit, func(f *os.File) error { return gates.WriteJUnit(f, rep) }); err != nil {
					return err
				}
			}
			if sarif != "" {
				if err := writeFile(sarif, func(f *os.File) error { return gates.WriteSARIF(f, rep, "") }); err != nil {
					return err
				}
			}
			if a.jsonOut {
				if err := gates.WriteJSON(a.io.Out, rep); err != nil {
					return err
				}
			} else {
				gates.WriteTerminal(a.io.Out, rep, a.color())
			}
			if !rep.Passed {
				return fail.New(exitcode.Refused, errReported)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&junit, "junit", "", "write a combined JUnit XML report (each gate a suite, each test a case)")
	cmd.Flags().StringVar(&sarif, "sarif", "", "write bandit and flake8 findings as SARIF 2.1.0 (GitHub code scanning)")
	cmd.Flags().StringVar(&env, "env", "", "include this environment's variables (for the env gate)")
	return cmd
}

func writeFile(path string, write func(*os.File) error) error {
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

// gateProgress prints a line as each gate finishes.
func (a *app) gateProgress(p *progress, ev gates.Event) {
	if ev.Kind != gates.EventFinished || ev.Result == nil {
		return
	}
	r := ev.Result
	mark := p.paint(green, "✓")
	switch r.Status {
	case gates.StatusFailed, gates.StatusError, gates.StatusTimeout:
		mark = p.paint(red, "✗")
		if !r.Blocking {
			mark = p.paint(yellow, "!")
		}
	case gates.StatusWarned, gates.StatusMissing:
		mark = p.paint(yellow, "!")
	case gates.StatusSkipped:
		mark = p.paint(dim, "–")
	}
	fmt.Fprintf(a.io.Err, "  %s %-8s %s %s\n", mark, r.Name, p.paint(dim, fmtMS(r.Duration.Milliseconds())), r.Summary)
}
