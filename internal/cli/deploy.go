package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// DeployOptions are ferry deploy's.
type DeployOptions struct {
	Common
	// Env is the environment argument; empty chooses it by branch.
	Env string
	// Ref is the commit to deploy (--ref).
	Ref string
	// LockWait is how long to wait for another deploy's lock (--lock-wait).
	LockWait time.Duration
	// SkipGates deploys without the quality gates (--skip-gates), recorded.
	SkipGates bool
	// Emergency deploys even when a window, freeze or calendar refuses
	// (--emergency), with the Reason (--reason) recorded and announced.
	Emergency bool
	Reason    string
	// Hotfix marks the deploy as an unplanned repair of a failure
	// (--hotfix): recorded, it counts in the change fail rate and rework rate.
	Hotfix bool
	// NoWatch leaves out the post-deploy watch (--no-watch).
	NoWatch bool
	// JUnit and SARIF are the gates' report files (--junit, --sarif), as
	// ferry check writes them: a pipeline runs the gates once.
	JUnit, SARIF string
}

// NewCmdDeploy is ferry deploy. runF, when not nil, is called with the
// parsed options instead of runDeploy: tests check the flags that way
// without deploying anything.
func NewCmdDeploy(f *Factory, runF func(*DeployOptions) error) *cobra.Command {
	opts := &DeployOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "deploy [ENV]",
		Short: "Deploy a commit to an environment, health-check it, roll back when it is not healthy",
		Long: `Deploy the commit --ref (default HEAD) to ENV, or, without ENV, to the
environment whose branch: is the current branch (GITHUB_REF_NAME in GitHub
Actions). Uncommitted changes are not deployed: commit them first.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: runE(opts, &opts.Common, func(args []string) {
			if len(args) > 0 {
				opts.Env = args[0]
			}
		}, runF, runDeploy),
		PreRunE: func(*cobra.Command, []string) error {
			if err := checkEmergency(opts.Emergency, opts.Reason); err != nil {
				return err
			}
			return checkLockWait(opts.LockWait)
		},
	}
	cmd.Flags().StringVar(&opts.Ref, "ref", "HEAD", "the commit to deploy: a branch, tag or SHA")
	cmd.Flags().DurationVar(&opts.LockWait, "lock-wait", 0, "wait this long for another deploy's lock instead of failing")
	cmd.Flags().BoolVar(&opts.SkipGates, "skip-gates", false, "deploy without running the quality gates (recorded)")
	cmd.Flags().BoolVar(&opts.Emergency, "emergency", false, "deploy outside the windows, holidays, freezes and calendars (needs --reason; recorded and announced)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why an --emergency deploy cannot wait for the next window")
	cmd.Flags().BoolVar(&opts.Hotfix, "hotfix", false, "mark the deploy as an unplanned repair of a failure (recorded; counts in the change fail rate)")
	cmd.Flags().BoolVar(&opts.NoWatch, "no-watch", false, "skip the post-deploy watch (health.watch)")
	cmd.Flags().StringVar(&opts.JUnit, "junit", "", "write the gates' combined JUnit XML report (as ferry check --junit)")
	cmd.Flags().StringVar(&opts.SARIF, "sarif", "", "write the gates' bandit and flake8 findings as SARIF 2.1.0 (as ferry check --sarif)")
	return cmd
}

// runDeploy runs the deploy list of steps (steps.go).
func runDeploy(opts *DeployOptions) error {
	o := &operation{Common: opts.Common, op: agent.OpApply, env: opts.Env, ref: opts.Ref, lockWait: opts.LockWait, skipGates: opts.SkipGates,
		emergency: opts.Emergency, reason: opts.Reason, hotfix: opts.Hotfix, noWatch: opts.NoWatch,
		junit: opts.JUnit, sarif: opts.SARIF}
	return o.run(deploySteps)
}

// maxLockWait is the longest --lock-wait the agent accepts.
const maxLockWait = 24 * time.Hour

// checkLockWait refuses a --lock-wait the agent would refuse, before
// anything is sent.
func checkLockWait(d time.Duration) error {
	if d < 0 || d > maxLockWait {
		return fail.Usage(fmt.Errorf("--lock-wait %s is out of range", d), "give a duration from 0 to 24h, such as 5m")
	}
	return nil
}

// toRe is what the agent accepts as a release to roll back to: a SHA
// prefix of at least 4 characters, or a release ID.
var toRe = text.Pattern(`^[0-9A-Za-z][0-9A-Za-z-]{3,79}$`)

// checkTo refuses a --to the agent would refuse, before anything is sent.
func checkTo(to string) error {
	if to != "" && !toRe().MatchString(to) {
		return fail.Usage(fmt.Errorf("--to %q is not a SHA prefix or release ID", to), "give at least 4 characters of a commit SHA, or a release ID from ferry releases ENV")
	}
	return nil
}
