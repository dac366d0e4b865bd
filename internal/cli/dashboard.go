package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/dashboard"
	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/text"
)

// DashboardOptions are ferry dashboard's.
type DashboardOptions struct {
	Common
	// Addr is where to serve: a loopback address and port (--addr).
	Addr string
}

// NewCmdDashboard is ferry dashboard; runF as for NewCmdDeploy.
func NewCmdDashboard(f *Factory, runF func(*DashboardOptions) error) *cobra.Command {
	opts := &DashboardOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a page on loopback: what serves where, the history and the metrics of every environment",
		Long: `Serve the dashboard on a loopback address until interrupted: for each
environment of ferry.yml, what serves on which instance (asked live through
its transport on every load), its DORA metrics with their bands, weekly
charts (deploys, lead time, failures, recovery time) drawn as SVG with their
tables, and the recent history. Nothing is loaded from elsewhere; the page
answers only requests addressed to a loopback host. ferry report --html FILE
writes the same page to a file.`,
		Args:    usageArgs(cobra.NoArgs),
		PreRunE: func(*cobra.Command, []string) error { return checkLoopback(opts.Addr) },
		RunE:    runE(opts, &opts.Common, nil, runF, runDashboard),
	}
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:8765", "the loopback address and port to serve on (port 0: any free one)")
	return cmd
}

// checkLoopback refuses an address other people could reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fail.Usage(fmt.Errorf("--addr %q is not HOST:PORT", addr), "for example --addr 127.0.0.1:8765")
	}
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && !strings.EqualFold(host, "localhost") {
		return fail.Usage(fmt.Errorf("--addr %s is not a loopback address", addr), "the dashboard shows the deployments of every environment: it serves on 127.0.0.1 or ::1 only; reach it from elsewhere through an SSH tunnel")
	}
	return nil
}

// dashboardResult is ferry dashboard's --json result, printed once it serves.
type dashboardResult struct {
	URL          string   `json:"url"`
	Environments []string `json:"environments"`
}

// runDashboard serves until the command's context ends (Ctrl-C).
func runDashboard(opts *DashboardOptions) error {
	p, err := opts.loadProject("")
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fail.Hint(fmt.Errorf("serve the dashboard on %s: %w", opts.Addr, err), "choose another port with --addr 127.0.0.1:PORT (0 picks a free one)")
	}
	srv := &http.Server{Handler: dashboard.Handler(opts.dashboardData), ReadHeaderTimeout: 10 * time.Second}
	res := dashboardResult{URL: "http://" + l.Addr().String() + "/", Environments: p.cfg.EnvironmentNames()}
	opts.setResult(res)
	if opts.JSON {
		if err := opts.envelopeNow("dashboard", res); err != nil {
			l.Close()
			return err
		}
	} else {
		fmt.Fprintf(opts.Out, "ferry dashboard at %s (Ctrl-C stops it)\n", res.URL)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-opts.context().Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// ReportOptions are ferry report's.
type ReportOptions struct {
	Common
	// HTML is the file to write the page to (--html).
	HTML string
}

// NewCmdReport is ferry report; runF as for NewCmdDeploy.
func NewCmdReport(f *Factory, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "report --html FILE",
		Short: "Write the dashboard as one self-contained HTML file (a CI artifact)",
		Long: `Write the page ferry dashboard serves to FILE, as it is now: one HTML file
with its stylesheet and SVG charts inline, which opens offline and from a
CI run's artifacts.`,
		Args: usageArgs(cobra.NoArgs),
		PreRunE: func(*cobra.Command, []string) error {
			if opts.HTML == "" {
				return fail.Usage(errors.New("ferry report needs --html FILE"), "for example ferry report --html deployments.html")
			}
			return nil
		},
		RunE: runE(opts, &opts.Common, nil, runF, runReport),
	}
	cmd.Flags().StringVar(&opts.HTML, "html", "", "the file to write")
	return cmd
}

// reportResult is ferry report's --json result.
type reportResult struct {
	File         string   `json:"file"`
	Environments []string `json:"environments"`
}

// runReport writes the page to the file.
func runReport(opts *ReportOptions) error {
	d, err := opts.dashboardData(opts.context())
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(opts.abs(opts.HTML)), ".ferry-report-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", opts.HTML, err)
	}
	defer os.Remove(f.Name())
	if err := dashboard.WriteHTML(f, d); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), opts.abs(opts.HTML)); err != nil {
		return fmt.Errorf("write %s: %w", opts.HTML, err)
	}
	res := reportResult{File: opts.HTML}
	for _, e := range d.Environments {
		res.Environments = append(res.Environments, e.Name)
	}
	opts.setResult(res)
	if !opts.JSON {
		fmt.Fprintf(opts.Out, "wrote %s (%d environments)\n", opts.HTML, len(d.Environments))
	}
	return nil
}

// historyRows is how many attempts each environment's section lists.
const historyRows = 40

// dashboardData is the page's data: every environment of ferry.yml with
// what serves on each instance (asked now, through its transport), and
// its metrics, weekly charts and recent history from the index.
func (c Common) dashboardData(ctx context.Context) (dashboard.Data, error) {
	now, err := c.now()
	if err != nil {
		return dashboard.Data{}, err
	}
	idx, chains, err := c.syncChains(ctx, "")
	if err != nil {
		return dashboard.Data{}, err
	}
	defer idx.Close()
	envs := make([]dashboard.Environment, len(chains))
	var wg sync.WaitGroup
	for i, ec := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			envs[i].Instances, envs[i].Target = c.serving(ctx, ec)
		}()
	}
	wg.Wait()
	d := dashboard.Data{Generated: now}
	for i, ec := range chains {
		if d.Title == "" {
			d.Title = ec.t.cfg.App
		}
		rep, events, err := metricsOf(ctx, idx, ec, now.Add(-dora.DefaultWindow), now)
		if err != nil {
			return d, err
		}
		rows, err := idx.History(ctx, index.Filter{Location: ec.location(), Limit: historyRows})
		if err != nil {
			return d, err
		}
		e := envs[i]
		e.App, e.Name, e.Metrics, e.Weeks, e.History = ec.t.cfg.App, ec.t.name, rep, dora.Weekly(events, rep.From, rep.To), rows
		d.Environments = append(d.Environments, e)
	}
	return d, nil
}

// statusTimeout bounds asking an environment what it serves.
const statusTimeout = 2 * time.Minute

// serving asks ec's servers what they serve (the status op) and says
// where the environment runs.
func (c Common) serving(ctx context.Context, ec *envChain) ([]dashboard.Instance, string) {
	t := ec.t
	where := "local " + t.root
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	results, err := t.tr.Run(ctx, t.baseSpec(agent.OpStatus), nil)
	if err != nil {
		return []dashboard.Instance{{ID: t.env.Target, Status: "unreachable: " + text.FirstLine(c.redact.text(err.Error()))}}, t.env.Target
	}
	if t.env.Target != "local" {
		where = fmt.Sprintf("%s, %d instances", t.env.Target, len(results))
	}
	var out []dashboard.Instance
	for _, r := range results {
		in := dashboard.Instance{ID: r.Target}
		s := r.Result.Status
		switch {
		case r.Result.ExitCode != 0:
			in.Status = "unreachable: " + text.FirstLine(c.redact.text(r.Result.Error))
		case s == nil || s.Current == nil:
			in.Status = "nothing deployed"
		default:
			in.Release, in.SHA, in.Healthy = s.Current.ID, s.Current.SHA, s.Healthy
			if !s.Running {
				in.Status = "not running"
			} else if !s.Healthy {
				in.Status = "unhealthy"
			}
		}
		out = append(out, in)
	}
	return out, where
}
