package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/github"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/text"
)

// The runner's notify steps: the SOP's pre-deployment message once the
// deploy is allowed to start, and its post-deployment message when it
// has ended, to every channel of ferry.yml's notify list that wants the
// event. A failed delivery never fails a deploy: each channel's outcome
// goes into the record.

// maxChanges caps the commit subjects a message lists.
const maxChanges = 30

// notifier is the command's Notifier over ferry.yml's channels.
func (o *operation) notifier() (*notify.Notifier, error) {
	opts := o.Notify
	if opts.Getenv == nil {
		opts.Getenv = o.Getenv
	}
	if opts.Logf == nil {
		opts.Logf = o.debugf
	}
	return notify.New(o.t.cfg.Notify, opts)
}

// send delivers m and reports each channel that did not get it.
func (o *operation) send(ctx context.Context, m notify.Message) error {
	n, err := o.notifier()
	if err != nil {
		return err
	}
	if o.decision != nil {
		m.Location = o.decision.At.Location()
	}
	rs := n.Send(ctx, m)
	o.notified = append(o.notified, rs...)
	var failed []string
	for _, r := range rs {
		if !r.Delivered {
			failed = append(failed, r.String())
			fmt.Fprintf(o.Err, "%s %s (recorded; the deploy goes on)\n", o.painter().Paint(ansi.Yellow, "warning:"), r)
		} else {
			o.debugf("%s", r)
		}
	}
	if len(failed) > 0 {
		return skip(fmt.Sprintf("%d of %d not delivered", len(failed), len(rs)))
	}
	return nil
}

// message is what both messages share.
func (o *operation) message(ev notify.Event) notify.Message {
	m := notify.Message{Event: ev, App: o.t.cfg.App, Environment: o.t.name, SHA: o.spec.SHA, Deployer: o.t.repo.Deployer(o.t.ci), URL: o.t.ci.RunURL()}
	if o.att != nil {
		m.Started = o.att.rec.Started
		m.Ref = o.att.rec.Change.Branch
	}
	if o.ref != "" && o.ref != "HEAD" {
		m.Ref = o.ref
	}
	if d := o.decision; d != nil && d.Emergency != nil {
		m.Emergency = &notify.EmergencyInfo{Actor: d.Emergency.Actor, Reason: d.Emergency.Reason, Overridden: d.Emergency.Rules()}
	}
	return m
}

// notifyStart tells the channels a deploy is about to be sent: where,
// when, how long it usually takes (from the history in the index), the
// changes since the release that serves, who deploys; an emergency
// deploy is announced as one.
func (o *operation) notifyStart(ctx context.Context) error {
	if len(o.t.cfg.Notify) == 0 {
		return skip("no notify: channels in ferry.yml")
	}
	m := o.message(notify.Start)
	m.Approvers = o.approvers(ctx)
	if m.Emergency != nil {
		m.Event = notify.Emergency
	}
	serving, estimate := o.history(ctx)
	m.Estimate = estimate
	if o.t.inRepo && serving != o.spec.SHA {
		subjects, err := o.t.repo.Subjects(serving, o.spec.SHA, maxChanges)
		if err != nil && serving != "" {
			// The serving commit is not in this repository (deployed from
			// elsewhere, or gone): list the newest commits instead.
			subjects, err = o.t.repo.Subjects("", o.spec.SHA, 10)
		}
		if err == nil {
			m.Changes = subjects
		}
	}
	o.announced = true
	return o.send(ctx, m)
}

// approvers are who approved this run's deployment to the environment,
// where GitHub knows them: in Actions with GITHUB_TOKEN, the run's
// approvals (an environment with required reviewers); asked once, within
// a few seconds. Unknown is none: the message goes without them.
func (o *operation) approvers(ctx context.Context) []string {
	if o.approversAsked {
		return o.approverLogins
	}
	o.approversAsked = true
	token := o.Getenv("GITHUB_TOKEN")
	runID, err := strconv.ParseInt(o.CI.RunID, 10, 64)
	if !o.CI.Actions || token == "" || err != nil {
		return nil
	}
	repo, err := github.ParseRepo(o.CI.Repository)
	if err != nil {
		return nil
	}
	c := github.New(token)
	if u := o.Getenv("GITHUB_API_URL"); u != "" {
		c.BaseURL = u
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	logins, err := c.Approvers(ctx, repo, runID, o.t.name)
	if err != nil {
		o.debugf("no approvers for the messages: %v", err)
		return nil
	}
	o.approverLogins = logins
	return logins
}

// history reads the environment's records through the index: the commit
// that serves (the newest attempt that ended deployed) and the median
// duration of the recent healthy deploys. Neither is needed to deploy:
// when the index cannot answer, both are unknown.
func (o *operation) history(ctx context.Context) (serving string, estimate time.Duration) {
	if o.att == nil {
		return "", 0
	}
	idx, err := o.openIndex()
	if err != nil {
		o.debugf("no history for the message: %v", err)
		return "", 0
	}
	defer idx.Close()
	loc := o.att.store.Location()
	if _, err := idx.Sync(ctx, o.att.store); err != nil {
		o.debugf("no history for the message: %v", err)
		return "", 0
	}
	rows, err := idx.History(ctx, index.Filter{Location: loc, Outcome: string(record.OutcomeDeployed), Limit: 100})
	if err != nil {
		return "", 0
	}
	var ds []time.Duration
	for _, r := range rows {
		if serving == "" {
			serving = r.SHA
		}
		if r.Op == record.OpDeploy && len(ds) < 20 {
			ds = append(ds, time.Duration(r.DurationMS)*time.Millisecond)
		}
	}
	if len(ds) > 0 {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		estimate = ds[len(ds)/2].Round(time.Second)
	}
	return serving, estimate
}

// notifyEnd tells the channels how the deploy (or rollback) ended: its
// status, commit, completion time, duration, health, and on failure the
// error and what to do. It runs after a failure and after Ctrl-C too,
// with a context of its own (notify bounds it).
func (o *operation) notifyEnd(ctx context.Context) error {
	switch {
	case o.t == nil:
		return skip("no environment was resolved")
	case len(o.t.cfg.Notify) == 0:
		return skip("no notify: channels in ferry.yml")
	case o.op == agent.OpApply && !o.announced:
		return skip("the deploy was not announced: nothing was sent")
	case o.op == agent.OpRollback && o.results == nil:
		return skip("nothing was sent to the servers")
	}
	code := fail.Code(o.firstErr)
	ev := notify.Success
	switch {
	case o.op == agent.OpRollback:
		ev = notify.Rollback
	case code == exitcode.RolledBack || code == exitcode.RollbackFailed:
		ev = notify.Rollback
	case code != exitcode.OK:
		ev = notify.Failure
	}
	m := o.message(ev)
	m.Approvers = o.approvers(ctx)
	m.Finished = time.Now()
	if !m.Started.IsZero() {
		m.Duration = m.Finished.Sub(m.Started).Round(time.Second)
	}
	m.Status, m.Health = o.endStatus(code), o.healthText()
	if o.firstErr != nil {
		m.Error = o.redact.text(o.firstErr.Error())
		for _, h := range allHints(o.firstErr) {
			m.Hints = append(m.Hints, o.redact.text(h))
		}
	}
	return o.send(context.WithoutCancel(ctx), m)
}

// endStatus is the post-deployment message's status line.
func (o *operation) endStatus(code int) string {
	outcome := attemptOutcome(o.context(), o.firstErr, o.results)
	switch {
	case o.op == agent.OpRollback && code == exitcode.OK:
		return "rolled back to " + text.Short(o.spec.SHA)
	case o.op == agent.OpRollback:
		return "rollback failed (" + strings.ReplaceAll(string(outcome), "_", " ") + ")"
	case outcome == record.OutcomeRolledBack && failedAgentStep(o.results) == "watch":
		return "rolled back by the post-deploy watch"
	}
	return strings.ReplaceAll(string(outcome), "_", " ")
}

// healthText is the health check's verdict in a sentence, per server
// when there are several.
func (o *operation) healthText() string {
	if o.results == nil {
		return ""
	}
	healthy, total := 0, len(o.results)
	for _, r := range o.results {
		if r.Result.ExitCode == exitcode.OK {
			healthy++
		}
	}
	url := o.t.cfg.Health.URL
	switch {
	case healthy == total && total == 1:
		return "healthy: " + url + " answered " + fmt.Sprint(o.t.cfg.Health.Status)
	case healthy == total:
		return fmt.Sprintf("healthy on all %d servers", total)
	case total == 1:
		return "not healthy: " + text.FirstLine(o.results[0].Result.Error)
	}
	return fmt.Sprintf("healthy on %d of %d servers", healthy, total)
}

// warnMissingSecrets names, for ferry validate, the variables the notify
// channels read that this environment does not set: such a channel is
// reported as not delivered during a deploy, which goes on.
func (c Common) warnMissingSecrets(cfg *config.Config) {
	for _, name := range notify.MissingSecrets(cfg.Notify, c.Getenv) {
		fmt.Fprintf(c.Err, "%s %s is not set here: its notify channel will report \"not delivered\" (set it in the CI's secrets)\n", c.painter().Paint(ansi.Yellow, "warning:"), name)
	}
}
