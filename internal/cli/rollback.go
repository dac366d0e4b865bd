package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
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
		Long: `Return ENV to the previous good release, or to --to (a SHA prefix or a
release ID), without reinstalling anything.

On a fleet (target ssm) every server ends on the same release: ferry
first asks each what it serves and keeps, chooses the newest release
older than the one being left that every server keeps healthy (or
already serves), and rolls every server to it; a server already there
succeeds as it is. When there is no such release nothing is changed,
and the error says what to do.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runRollback),
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

// fleetTarget chooses the one release a rollback brings every server of
// a fleet to, from what each keeps (the releases op): the newest release
// that is older than the newest one serving anywhere (the release being
// left) and that every server either serves already or keeps, healthy
// and not pruned. Nothing changes when there is none: the error says
// why, naming the servers that keep least.
func fleetTarget(env string, results []transport.TargetResult) (string, string, error) {
	var from agent.Release
	for _, r := range results {
		for _, rel := range r.Result.Releases {
			if rel.ID == r.Result.Release && rel.Created.After(from.Created) {
				from = rel
			}
		}
	}
	// good[sha][server] is the newest healthy release of sha the server
	// keeps (or serves).
	good := map[string]map[string]time.Time{}
	for _, r := range results {
		for _, rel := range r.Result.Releases {
			if rel.SHA == from.SHA || rel.Pruned || (rel.Status != agent.StatusHealthy && rel.ID != r.Result.Release) {
				continue
			}
			if good[rel.SHA] == nil {
				good[rel.SHA] = map[string]time.Time{}
			}
			if rel.Created.After(good[rel.SHA][r.Target]) {
				good[rel.SHA][r.Target] = rel.Created
			}
		}
	}
	best, bestAt := "", time.Time{}
	for sha, on := range good {
		if len(on) != len(results) {
			continue
		}
		var newest time.Time
		for _, at := range on {
			if at.After(newest) {
				newest = at
			}
		}
		if !from.Created.IsZero() && !newest.Before(from.Created) {
			continue // newer than the release being left: not a way back
		}
		if newest.After(bestAt) || (newest.Equal(bestAt) && sha < best) {
			best, bestAt = sha, newest
		}
	}
	if best != "" {
		return best, from.SHA, nil
	}
	var empty []string
	for _, r := range results {
		n := 0
		for _, rel := range r.Result.Releases {
			if !rel.Pruned && rel.SHA != from.SHA && (rel.Status == agent.StatusHealthy || rel.ID == r.Result.Release) {
				n++
			}
		}
		if n == 0 {
			empty = append(empty, r.Target)
		}
	}
	why := "no release older than the one serving is kept healthy on every server"
	if from.SHA != "" {
		why = fmt.Sprintf("no release older than %s (serving) is kept healthy on every server", text.Short(from.SHA))
	}
	if len(empty) > 0 {
		why += fmt.Sprintf(" (%s keep%s none)", strings.Join(first(empty, 3), ", "), map[bool]string{true: "s", false: ""}[len(empty) == 1])
	}
	return "", from.SHA, fail.New(exitcode.Failed, errors.New("rollback: "+why+": the fleet cannot be brought to one earlier release, so nothing was changed"),
		"ferry releases "+env+" lists what each server keeps",
		"ferry rollback "+env+" --to SHA brings every server to a release of your choosing (a server that does not keep it refuses, and changes nothing)",
		"or deploy a good commit to every server: ferry deploy "+env+" --ref SHA")
}
