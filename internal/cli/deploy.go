package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
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
	}
	cmd.Flags().StringVar(&opts.Ref, "ref", "HEAD", "the commit to deploy: a branch, tag or SHA")
	cmd.Flags().DurationVar(&opts.LockWait, "lock-wait", 0, "wait this long for another deploy's lock instead of failing")
	cmd.Flags().BoolVar(&opts.SkipGates, "skip-gates", false, "deploy without running the quality gates (recorded)")
	return cmd
}

// runDeploy runs the deploy list of steps (steps.go).
func runDeploy(opts *DeployOptions) error {
	o := &operation{Common: opts.Common, op: agent.OpApply, env: opts.Env, ref: opts.Ref, lockWait: opts.LockWait, skipGates: opts.SkipGates}
	return o.run(deploySteps)
}
