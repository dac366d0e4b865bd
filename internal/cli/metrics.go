package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/dora"
)

// MetricsOptions are ferry metrics'.
type MetricsOptions struct {
	Common
	// Env is the environment; empty means every environment of ferry.yml.
	Env string
	// Since starts the window (--since; default 30 days before now).
	Since string
}

// NewCmdMetrics is ferry metrics; runF as for NewCmdDeploy.
func NewCmdMetrics(f *Factory, runF func(*MetricsOptions) error) *cobra.Command {
	opts := &MetricsOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "metrics [ENV]",
		Short: "DORA's delivery metrics of ENV (or every environment) from its audit records",
		Long: `Deployment frequency, change lead time, change fail rate, failed deployment
recovery time, deployment rework rate and deployment duration, with DORA's
performance band for each, over the window that ends now (FERRY_NOW fixes
it) and starts at --since (default 30 days). Computed from the local index
of the environments' audit records, synced from their stores first.
docs/metrics.md defines every number.`,
		Args:    usageArgs(cobra.MaximumNArgs(1)),
		PreRunE: func(*cobra.Command, []string) error { return checkSince(opts.Since) },
		RunE: runE(opts, &opts.Common, func(args []string) {
			if len(args) > 0 {
				opts.Env = args[0]
			}
		}, runF, runMetrics),
	}
	cmd.Flags().StringVar(&opts.Since, "since", "30d", "start of the window: days or weeks (30d, 2w), hours (36h), a date or an RFC 3339 time")
	return cmd
}

// metricsResult is ferry metrics' --json result.
type metricsResult struct {
	Environments []envMetrics `json:"environments"`
}

// envMetrics is one environment's dora.Report with its durations in
// milliseconds.
type envMetrics struct {
	Environment         string         `json:"environment"`
	App                 string         `json:"app"`
	Location            string         `json:"location"`
	From                time.Time      `json:"from"`
	To                  time.Time      `json:"to"`
	DeploymentFrequency dora.Frequency `json:"deployment_frequency"`
	LeadTime            durationsJSON  `json:"change_lead_time"`
	ChangeFailRate      dora.Rate      `json:"change_fail_rate"`
	RecoveryTime        durationsJSON  `json:"failed_deployment_recovery_time"`
	Unrecovered         int            `json:"unrecovered"`
	ReworkRate          dora.Rate      `json:"deployment_rework_rate"`
	DeploymentDuration  durationsJSON  `json:"deployment_duration"`
}

type durationsJSON struct {
	Count    int       `json:"count"`
	MedianMS int64     `json:"median_ms"`
	P90MS    int64     `json:"p90_ms"`
	Band     dora.Band `json:"band"`
}

func toDurationsJSON(d dora.Durations) durationsJSON {
	return durationsJSON{Count: d.Count, MedianMS: d.Median.Milliseconds(), P90MS: d.P90.Milliseconds(), Band: d.Band}
}

func toEnvMetrics(ec *envChain, r dora.Report) envMetrics {
	return envMetrics{Environment: ec.t.name, App: ec.t.cfg.App, Location: ec.location(), From: r.From, To: r.To,
		DeploymentFrequency: r.DeploymentFrequency, LeadTime: toDurationsJSON(r.LeadTime), ChangeFailRate: r.ChangeFailRate,
		RecoveryTime: toDurationsJSON(r.RecoveryTime), Unrecovered: r.Unrecovered, ReworkRate: r.ReworkRate,
		DeploymentDuration: toDurationsJSON(r.DeploymentDuration)}
}

// runMetrics syncs the index and computes each environment's metrics.
func runMetrics(opts *MetricsOptions) error {
	ctx := opts.context()
	now, err := opts.now()
	if err != nil {
		return err
	}
	since, err := parseSince(opts.Since, now)
	if err != nil {
		return err
	}
	idx, chains, err := opts.syncChains(ctx, opts.Env)
	if err != nil {
		return err
	}
	defer idx.Close()
	res := &metricsResult{Environments: []envMetrics{}}
	for _, ec := range chains {
		rep, _, err := metricsOf(ctx, idx, ec, since, now)
		if err != nil {
			return err
		}
		res.Environments = append(res.Environments, toEnvMetrics(ec, rep))
		if !opts.JSON {
			writeMetrics(opts.Out, ec.t.cfg.App, ec.t.name, rep)
		}
	}
	opts.setResult(res)
	return nil
}

// writeMetrics prints one environment's metrics as a table.
func writeMetrics(w io.Writer, app, env string, r dora.Report) {
	fmt.Fprintf(w, "%s · %s · %s to %s\n", app, env, r.From.UTC().Format("2006-01-02 15:04"), r.To.UTC().Format("2006-01-02 15:04 MST"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	f := r.DeploymentFrequency
	fmt.Fprintf(tw, "  deployment frequency\t%d (%.1f a day, %.1f a week)\t%s\n", f.Deployments, f.PerDay, f.PerWeek, band(f.Band))
	fmt.Fprintf(tw, "  change lead time\t%s\t%s\n", durations(r.LeadTime, "changes"), band(r.LeadTime.Band))
	fmt.Fprintf(tw, "  change fail rate\t%s\t%s\n", rate(r.ChangeFailRate), band(r.ChangeFailRate.Band))
	rec := durations(r.RecoveryTime, "failures")
	if r.Unrecovered > 0 {
		rec += fmt.Sprintf("; %d not recovered", r.Unrecovered)
	}
	fmt.Fprintf(tw, "  failed deployment recovery time\t%s\t%s\n", rec, band(r.RecoveryTime.Band))
	fmt.Fprintf(tw, "  deployment rework rate\t%s\t%s\n", rate(r.ReworkRate), band(r.ReworkRate.Band))
	fmt.Fprintf(tw, "  deployment duration\t%s\t%s\n", durations(r.DeploymentDuration, "deployments"), band(r.DeploymentDuration.Band))
	tw.Flush()
}

func band(b dora.Band) string {
	if b == dora.None {
		return "-"
	}
	return string(b)
}

func durations(d dora.Durations, what string) string {
	if d.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("median %s, p90 %s (%d %s)", roughly(d.Median), roughly(d.P90), d.Count, what)
}

func rate(r dora.Rate) string {
	if r.Total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%% (%d of %d)", r.Value*100, r.Count, r.Total)
}

// roughly is a duration as people say it: 45s, 4m10s, 3h20m, 2d3h.
func roughly(d time.Duration) string {
	switch {
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// metricsLine is the environment's metrics over the last 30 days in one
// Markdown line, the last of the job summary; empty when the records
// cannot be read (the summary is worth more than this line).
func (o *operation) metricsLine(ctx context.Context) string {
	if o.att == nil {
		return ""
	}
	now, err := o.now()
	if err != nil {
		return ""
	}
	idx, err := o.openIndex()
	if err != nil {
		o.debugf("no metrics line: %v", err)
		return ""
	}
	defer idx.Close()
	ec := &envChain{t: o.t, store: o.att.store}
	if _, err := idx.Sync(ctx, ec.store); err != nil {
		o.debugf("no metrics line: %v", err)
		return ""
	}
	r, _, err := metricsOf(ctx, idx, ec, now.Add(-dora.DefaultWindow), now)
	if err != nil {
		return ""
	}
	f := r.DeploymentFrequency
	parts := []string{
		fmt.Sprintf("%d deployments (%.1f a week, %s)", f.Deployments, f.PerWeek, band(f.Band)),
		"lead time " + short(r.LeadTime),
		fmt.Sprintf("change fail rate %s", shortRate(r.ChangeFailRate)),
		"recovery " + short(r.RecoveryTime),
		fmt.Sprintf("rework %s", shortRate(r.ReworkRate)),
		"duration " + short(r.DeploymentDuration),
	}
	return fmt.Sprintf("**%s, last 30 days:** %s\n", o.t.name, strings.Join(parts, " · "))
}

func short(d dora.Durations) string {
	if d.Count == 0 {
		return "-"
	}
	if d.Band == dora.None {
		return "median " + roughly(d.Median)
	}
	return fmt.Sprintf("median %s (%s)", roughly(d.Median), d.Band)
}

func shortRate(r dora.Rate) string {
	if r.Total == 0 {
		return "-"
	}
	if r.Band == dora.None {
		return fmt.Sprintf("%.1f%%", r.Value*100)
	}
	return fmt.Sprintf("%.1f%% (%s)", r.Value*100, r.Band)
}
