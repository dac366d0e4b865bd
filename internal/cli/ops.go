package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport"
)

func (a *app) rollbackCmd() *cobra.Command {
	var to string
	var lockWait time.Duration
	cmd := &cobra.Command{
		Use:   "rollback ENV",
		Short: "Return ENV to the previous good release (or --to SHA) without reinstalling",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := a.targetFromConfig(args)
			if err != nil {
				return err
			}
			spec := t.baseSpec(agent.OpRollback)
			spec.To = to
			spec.LockWait = lockWait
			what := "the previous good release"
			if to != "" {
				what = to
			}
			fmt.Fprintf(a.io.Err, "Rolling %s back to %s\n", t.name, what)
			results, err := a.runSpec(cmd.Context(), t, spec)
			if err != nil {
				return err
			}
			if len(results) > 0 {
				spec.SHA = results[0].Result.SHA
			}
			return a.report(t, spec, results, nil)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "a kept release: SHA prefix or release ID")
	cmd.Flags().DurationVar(&lockWait, "lock-wait", 0, "wait this long for another deploy's lock")
	return cmd
}

func (a *app) targetFromConfig(args []string) (*target, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	return a.target(cfg, args, false)
}

// readOp runs a read-only agent operation on every server of ENV.
func (a *app) readOp(ctx context.Context, args []string, op string) (*target, []transport.TargetResult, error) {
	t, err := a.targetFromConfig(args)
	if err != nil {
		return nil, nil, err
	}
	results, err := t.tr.Run(ctx, t.baseSpec(op), nil)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range results {
		if r.Result.ExitCode != 0 {
			return t, results, fmt.Errorf("%s on %s: %w", op, r.Target, r.Result.Err())
		}
	}
	return t, results, nil
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status ENV",
		Short: "Show the current and previous release, who deployed them, whether the app runs and answers healthy",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, results, err := a.readOp(cmd.Context(), args, agent.OpStatus)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(results)
			}
			unhealthy := false
			for _, r := range results {
				s := r.Result.Status
				fmt.Fprintf(a.io.Out, "%s · %s · %s\n", t.cfg.App, t.name, r.Target)
				if s == nil || s.Current == nil {
					fmt.Fprintln(a.io.Out, "  nothing deployed yet")
					continue
				}
				c := s.Current
				fmt.Fprintf(a.io.Out, "  current   %s  sha %s  by %s at %s  (%s)\n", c.ID, short(c.SHA), c.Deployer, c.Created.Local().Format(time.DateTime), c.Status)
				if p := s.Previous; p != nil {
					fmt.Fprintf(a.io.Out, "  previous  %s  sha %s  by %s at %s  (%s)\n", p.ID, short(p.SHA), p.Deployer, p.Created.Local().Format(time.DateTime), p.Status)
				}
				run := "not running"
				if s.Running {
					run = fmt.Sprintf("running, pid %d", s.PID)
				}
				fmt.Fprintf(a.io.Out, "  process   %s\n", run)
				hl := "unhealthy"
				if s.Healthy {
					hl = "healthy"
				} else {
					unhealthy = true
				}
				fmt.Fprintf(a.io.Out, "  health    %s: %s\n", hl, s.HealthNote)
				if s.Locked != nil {
					fmt.Fprintf(a.io.Out, "  lock      held by %s (%s) since %s\n", s.Locked.Who, s.Locked.Op, s.Locked.Since.Local().Format(time.DateTime))
				}
			}
			if unhealthy {
				return fail.New(exitcode.Failed, errReported)
			}
			return nil
		},
	}
}

func (a *app) releasesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "releases ENV",
		Short: "List the releases of ENV with their outcome",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, results, err := a.readOp(cmd.Context(), args, agent.OpReleases)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(results)
			}
			for _, r := range results {
				if len(results) > 1 {
					fmt.Fprintf(a.io.Out, "%s:\n", r.Target)
				}
				tw := tabwriter.NewWriter(a.io.Out, 2, 4, 2, ' ', 0)
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
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, rel.ID, short(rel.SHA), status, rel.Deployer, rel.Created.Local().Format(time.DateTime), rel.Reason)
				}
				tw.Flush()
			}
			return nil
		},
	}
}

func (a *app) unlockCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "unlock ENV",
		Short: "Remove ENV's deploy lock, for when its holder is known to be dead",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, results, err := a.readOp(cmd.Context(), args, agent.OpUnlock)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(results)
			}
			for _, r := range results {
				if o := r.Result.Lock; o != nil {
					fmt.Fprintf(a.io.Out, "%s: removed the lock held by %s (%s, pid %d on %s) since %s\n", r.Target, o.Who, o.Op, o.PID, o.Host, o.Since.Local().Format(time.DateTime))
				} else {
					fmt.Fprintf(a.io.Out, "%s: no lock was held\n", r.Target)
				}
			}
			return nil
		},
	}
}
