package cli

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/policy"
)

// Outcomes of a deploy that reached no server (the agent's outcomes name
// the others).
const (
	// outcomeRefused: a blocking gate refused the deploy.
	outcomeRefused = "refused"
	// outcomeNotSent: planned, but nothing reached the servers (the
	// transport failed before sending, or was interrupted).
	outcomeNotSent = "not_sent"
)

// deployResult is the --json result of ferry deploy and ferry rollback.
type deployResult struct {
	Environment  string        `json:"environment"`
	App          string        `json:"app"`
	SHA          string        `json:"sha"`
	Outcome      string        `json:"outcome"`
	URL          string        `json:"url,omitempty"`
	GatesSkipped bool          `json:"gates_skipped"`
	Gates        *gates.Report `json:"gates"`
	Targets      []targetJSON  `json:"targets"`
	// Steps are the runner's steps (steps.go).
	Steps []stepRecord `json:"steps"`
	// Hotfix is --hotfix; Policy the policy's decision, when it was asked;
	// Notifications each channel's delivery; Record where the attempt was
	// recorded.
	Hotfix        bool             `json:"hotfix,omitempty"`
	Policy        *policy.Decision `json:"policy,omitempty"`
	Notifications []notify.Result  `json:"notifications,omitempty"`
	Record        *recordRef       `json:"record,omitempty"`
}

// result is the deploy's result from what the steps learned; err is the
// runner's failure.
func (o *operation) result(err error) *deployResult {
	r := &deployResult{Environment: o.t.name, App: o.t.cfg.App, SHA: o.spec.SHA, URL: appURL(o.t.cfg.Health.URL),
		Targets: targetsJSON(o.results), Steps: o.steps}
	if g := o.gateRun; g != nil {
		r.GatesSkipped, r.Gates = g.skipped, g.report
	}
	r.Hotfix, r.Policy, r.Notifications, r.Record = o.hotfix, o.decision, o.notified, o.att.ref()
	switch {
	case o.results != nil:
		r.Outcome, _ = worst(o.results)
	case fail.Code(err) == exitcode.Refused:
		r.Outcome = outcomeRefused
	default:
		r.Outcome = outcomeNotSent
	}
	return r
}

// summarize prints the closing lines on stderr and, in GitHub Actions,
// a table in the job summary.
func (o *operation) summarize() {
	p := o.painter()
	for _, r := range o.results {
		res := r.Result
		mark := p.Paint(ansi.Green, "✓")
		if res.ExitCode != 0 {
			mark = p.Paint(ansi.Red, "✗")
		}
		who := ""
		if len(o.results) > 1 {
			who = r.Target + ": "
		}
		fmt.Fprintf(o.Err, "%s %s%s in %s", mark, who, res.Outcome, fmtMS(res.DurationMS))
		if res.Release != "" {
			fmt.Fprintf(o.Err, " (release %s)", res.Release)
		}
		fmt.Fprintln(o.Err)
		if len(res.LogTail) > 0 {
			if o.CI.Actions {
				fmt.Fprintf(o.Err, "::group::%s: the last %d lines of the failed release's log\n", r.Target, len(res.LogTail))
			} else {
				fmt.Fprintf(o.Err, "  last %d lines of the failed release's log:\n", len(res.LogTail))
			}
			for _, l := range res.LogTail {
				fmt.Fprintf(o.Err, "    %s\n", l)
			}
			if o.CI.Actions {
				fmt.Fprintln(o.Err, "::endgroup::")
			}
		}
		if o.CI.Actions {
			res = o.pipGroup(r.Target, res)
		}
		fail.Format(o.Err, res.Err())
		if o.CI.Actions && res.ExitCode != 0 {
			// The failure on the run's page, with what to do.
			msg := r.Target + ": " + res.Error
			if len(res.Hints) > 0 {
				msg += " (hint: " + strings.Join(res.Hints, "; ") + ")"
			}
			fmt.Fprintln(o.Err, annotation("error", o.rel(o.t.cfg.File), 0, 0, "ferry "+o.verb()+" "+o.t.name+": "+words(outcomeWords, res.Outcome), msg))
		}
	}
	if o.CI.Actions {
		// The notice, then where this deploy leaves the team's metrics.
		appendStepSummary(o.Getenv("GITHUB_STEP_SUMMARY"), o.redact.text(o.summaryMarkdown()+"\n"+o.metricsLine(o.context())+"\n"))
	}
}

// verb is the command that ran: deploy or rollback.
func (o *operation) verb() string {
	if o.op == agent.OpRollback {
		return "rollback"
	}
	return "deploy"
}

// appURL is where the app answers, from its health URL.
func appURL(health string) string {
	u, err := url.Parse(health)
	if err != nil {
		return health
	}
	return u.Scheme + "://" + u.Host + "/"
}

// appendStepSummary adds Markdown to the job's summary page in Actions.
// A summary that cannot be written costs the deploy nothing.
func appendStepSummary(path, md string) {
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(md)
}
