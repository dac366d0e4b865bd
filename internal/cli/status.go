package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
)

// envResult is the --json result of status, releases and unlock.
type envResult struct {
	Environment string `json:"environment"`
	App         string `json:"app"`
	// Healthy is status's verdict: every server runs and answers healthy.
	Healthy *bool        `json:"healthy,omitempty"`
	Targets []targetJSON `json:"targets"`
}

// readOp runs a read-only agent operation on every server of env. The
// result is set for --json even when a server failed.
func (c Common) readOp(env, op string) (*target, []transport.TargetResult, *envResult, error) {
	return c.readOpWith(env, op, nil)
}

// readOpWith is readOp with the spec changed by edit.
func (c Common) readOpWith(env, op string, edit func(*agent.Spec)) (*target, []transport.TargetResult, *envResult, error) {
	t, err := c.loadTarget(env, false)
	if err != nil {
		return nil, nil, nil, err
	}
	spec := t.baseSpec(op)
	if edit != nil {
		edit(&spec)
	}
	results, err := t.tr.Run(c.context(), spec, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	res := &envResult{Environment: t.name, App: t.cfg.App, Targets: targetsJSON(results)}
	c.setResult(res)
	for _, r := range results {
		if r.Result.ExitCode != 0 {
			return t, results, res, fmt.Errorf("%s on %s: %w", op, r.Target, r.Result.Err())
		}
	}
	return t, results, res, nil
}

// StatusOptions are ferry status's.
type StatusOptions struct {
	Common
	// Env is the environment to report on.
	Env string
}

// NewCmdStatus is ferry status; runF as for NewCmdDeploy.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "status ENV",
		Short: "Show the current and previous release, who deployed them, whether the app runs and answers healthy",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runStatus),
	}
}

// runStatus prints what each server serves; an unhealthy one exits 1.
func runStatus(opts *StatusOptions) error {
	t, results, res, err := opts.readOp(opts.Env, agent.OpStatus)
	if err != nil {
		return err
	}
	var unhealthy []error
	for _, r := range results {
		if s := r.Result.Status; s != nil && s.Current != nil && !s.Healthy {
			unhealthy = append(unhealthy, fmt.Errorf("%s is unhealthy: %s", r.Target, s.HealthNote))
		}
	}
	healthy := len(unhealthy) == 0
	res.Healthy = &healthy
	if !opts.JSON {
		printStatus(opts.Common, t, results)
	}
	if !healthy {
		return fail.New(exitcode.Failed, reported(errors.Join(unhealthy...)),
			"ferry releases "+t.name+" lists what ran before; ferry rollback "+t.name+" returns to the previous release")
	}
	return nil
}

func printStatus(c Common, t *target, results []transport.TargetResult) {
	w := c.Out
	for _, r := range results {
		s := r.Result.Status
		fmt.Fprintf(w, "%s · %s · %s\n", t.cfg.App, t.name, r.Target)
		if s == nil || s.Current == nil {
			fmt.Fprintln(w, "  nothing deployed yet")
			continue
		}
		cur := s.Current
		fmt.Fprintf(w, "  current   %s  sha %s  by %s at %s  (%s)\n", cur.ID, text.Short(cur.SHA), cur.Deployer, cur.Created.Local().Format(time.DateTime), cur.Status)
		if p := s.Previous; p != nil {
			fmt.Fprintf(w, "  previous  %s  sha %s  by %s at %s  (%s)\n", p.ID, text.Short(p.SHA), p.Deployer, p.Created.Local().Format(time.DateTime), p.Status)
		}
		run := "not running"
		if s.Running {
			run = fmt.Sprintf("running, pid %d", s.PID)
		}
		fmt.Fprintf(w, "  process   %s\n", run)
		hl := "unhealthy"
		if s.Healthy {
			hl = "healthy"
		}
		fmt.Fprintf(w, "  health    %s: %s\n", hl, s.HealthNote)
		if s.Locked != nil {
			fmt.Fprintf(w, "  lock      held by %s (%s) since %s\n", s.Locked.Who, s.Locked.Op, s.Locked.Since.Local().Format(time.DateTime))
		}
	}
}

// ReleasesOptions are ferry releases'.
type ReleasesOptions struct {
	Common
	// Env is the environment whose releases to list.
	Env string
}

// NewCmdReleases is ferry releases; runF as for NewCmdDeploy.
func NewCmdReleases(f *Factory, runF func(*ReleasesOptions) error) *cobra.Command {
	opts := &ReleasesOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "releases ENV",
		Short: "List the releases of ENV with their outcome",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runReleases),
	}
}

// runReleases prints each server's releases, marking current (*) and
// previous (-).
func runReleases(opts *ReleasesOptions) error {
	_, results, _, err := opts.readOp(opts.Env, agent.OpReleases)
	if err != nil || opts.JSON {
		return err
	}
	for _, r := range results {
		if len(results) > 1 {
			fmt.Fprintf(opts.Out, "%s:\n", r.Target)
		}
		tw := tabwriter.NewWriter(opts.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\tRELEASE\tSHA\tSTATUS\tDEPLOYED BY\tWHEN\tNOTE")
		for _, rel := range r.Result.Releases {
			mark := ""
			switch rel.ID {
			case r.Result.Release:
				mark = "*"
			case r.Result.Previous:
				mark = "-"
			}
			status := rel.Status
			if rel.Pruned {
				status += " (pruned)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, rel.ID, text.Short(rel.SHA), status, rel.Deployer, rel.Created.Local().Format(time.DateTime), rel.Reason)
		}
		tw.Flush()
	}
	return nil
}

// UnlockOptions are ferry unlock's.
type UnlockOptions struct {
	Common
	// Env is the environment whose lock to remove.
	Env string
}

// NewCmdUnlock is ferry unlock; runF as for NewCmdDeploy.
func NewCmdUnlock(f *Factory, runF func(*UnlockOptions) error) *cobra.Command {
	opts := &UnlockOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "unlock ENV",
		Short: "Remove ENV's deploy lock, for when its holder is known to be dead",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE:  runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runUnlock),
	}
}

// runUnlock removes the lock on every server and says whose it was.
func runUnlock(opts *UnlockOptions) error {
	_, results, _, err := opts.readOp(opts.Env, agent.OpUnlock)
	if err != nil || opts.JSON {
		return err
	}
	for _, r := range results {
		if o := r.Result.Lock; o != nil {
			fmt.Fprintf(opts.Out, "%s: removed the lock held by %s (%s, pid %d on %s) since %s\n", r.Target, o.Who, o.Op, o.PID, o.Host, o.Since.Local().Format(time.DateTime))
		} else {
			fmt.Fprintf(opts.Out, "%s: no lock was held\n", r.Target)
		}
	}
	return nil
}
