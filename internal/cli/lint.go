package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/workflows"
)

// LintOptions are ferry lint's.
type LintOptions struct {
	Common
	// Paths are workflow files or directories; none is .github/workflows.
	Paths []string
}

// lintResult is ferry lint's --json result.
type lintResult struct {
	Findings []lintFinding `json:"findings"`
}

type lintFinding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

// NewCmdLint is ferry lint; runF as for NewCmdDeploy.
func NewCmdLint(f *Factory, runF func(*LintOptions) error) *cobra.Command {
	opts := &LintOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Lint GitHub workflows with actionlint and ferry's hardening rules",
		Long: `Lint workflow files (default: .github/workflows) with actionlint used as a
library, shellcheck and pyflakes when they are installed, and, on the files
ferry init wrote, ferry's hardening rules: no ${{ }} inside run:, checkout
without persisted credentials, the least permissions, no secrets: inherit,
actions on a tag or SHA. Each finding is printed as file:line:col:
message [rule]; exit 1 when there is one. In GitHub Actions each is also
an annotation on its line.`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: runE(opts, &opts.Common, func(args []string) { opts.Paths = args }, runF, runLint),
	}
}

func runLint(opts *LintOptions) error {
	paths := opts.Paths
	if len(paths) == 0 {
		paths = []string{".github/workflows"}
	}
	for i, p := range paths {
		paths[i] = opts.abs(p)
	}
	found, err := workflows.Lint(paths...)
	if err != nil {
		return err
	}
	res := lintResult{Findings: []lintFinding{}}
	for _, f := range found {
		rel := opts.rel(f.File)
		res.Findings = append(res.Findings, lintFinding{File: rel, Line: f.Line, Col: f.Col, Message: f.Message, Rule: f.Rule})
		if !opts.JSON {
			f.File = rel
			fmt.Fprintln(opts.Out, f.String())
		}
		if opts.CI.Actions {
			fmt.Fprintln(opts.Err, annotation("error", rel, f.Line, f.Col, "ferry lint: "+f.Rule, f.Message))
		}
	}
	opts.setResult(res)
	if len(found) > 0 {
		return fail.New(exitcode.Failed, reported(fmt.Errorf("lint: %d findings", len(found))), "fix each line above; docs/pipeline.md explains the hardening rules")
	}
	if !opts.JSON {
		fmt.Fprintf(opts.Err, "%d workflow paths linted: no findings\n", len(paths))
	}
	return nil
}
