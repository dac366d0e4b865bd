package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/fail"
)

// WindowsOptions are ferry windows'.
type WindowsOptions struct {
	Common
	// Env is the environment whose rules to show.
	Env string
	// Next is how many open periods to list (--next).
	Next int
}

// NewCmdWindows is ferry windows; runF as for NewCmdDeploy.
func NewCmdWindows(f *Factory, runF func(*WindowsOptions) error) *cobra.Command {
	opts := &WindowsOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "windows ENV",
		Short: "Show when ENV may be deployed: its windows, holidays, freezes, calendars, and the next open periods",
		Long: `Show ENV's deployment policy (windows.timezone, windows.allow, holidays,
freezes, change_calendars, policy.emergency), whether a deploy is allowed now
and, if not, which rules refuse it, and the next open periods. "Now" is the
runner's clock, or FERRY_NOW (RFC 3339) to rehearse another instant; change
calendars are asked for that instant through SSM. docs/policy.md explains
the rules.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		PreRunE: func(*cobra.Command, []string) error {
			if opts.Next < 1 || opts.Next > 100 {
				return fail.Usage(fmt.Errorf("--next %d is out of range", opts.Next), "list from 1 to 100 open periods")
			}
			return nil
		},
		RunE: runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runWindows),
	}
	cmd.Flags().IntVar(&opts.Next, "next", 5, "how many open periods to list")
	return cmd
}

// runWindows prints the policy's report for ENV.
func runWindows(opts *WindowsOptions) error {
	t, err := opts.loadTarget(opts.Env, false)
	if err != nil {
		return err
	}
	p, err := opts.policyOf(opts.context(), t)
	if err != nil {
		return err
	}
	rep, err := p.Report(opts.context(), opts.Next)
	if rep != nil {
		opts.setResult(rep)
	}
	if err != nil {
		return fail.Hint(fmt.Errorf("windows of %s: %w", t.name, err), "check the AWS credentials and region, and that the change calendars exist")
	}
	if opts.JSON {
		return nil
	}
	return rep.WriteText(opts.Out)
}
