package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
)

// RollbackOptions are ferry rollback's.
type RollbackOptions struct {
	Common
	// Env is the environment to roll back.
	Env string
	// To names a kept release: SHA prefix or release ID (--to); empty
	// means the previous good one.
	To string
	// LockWait is how long to wait for another deploy's lock (--lock-wait).
	LockWait time.Duration
}

// NewCmdRollback is ferry rollback; runF as for NewCmdDeploy.
func NewCmdRollback(f *Factory, runF func(*RollbackOptions) error) *cobra.Command {
	opts := &RollbackOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "rollback ENV",
		Short: "Return ENV to the previous good release (or --to SHA) without reinstalling",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runRollback),
		PreRunE: func(*cobra.Command, []string) error {
			if err := checkTo(opts.To); err != nil {
				return err
			}
			return checkLockWait(opts.LockWait)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "a kept release: SHA prefix or release ID")
	cmd.Flags().DurationVar(&opts.LockWait, "lock-wait", 0, "wait this long for another deploy's lock")
	return cmd
}

// runRollback runs the rollback list of steps (steps.go).
func runRollback(opts *RollbackOptions) error {
	o := &operation{Common: opts.Common, op: agent.OpRollback, env: opts.Env, to: opts.To, lockWait: opts.LockWait}
	return o.run(rollbackSteps)
}
