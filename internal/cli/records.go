package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
	"github.com/ferryhq/ferry/internal/version"
)

// Every attempt that changes servers is recorded where its environment
// lives (package record, package recordstore): a begin record before
// anything is sent, an end record with the outcome whatever happened —
// a failure, a refusal, Ctrl-C or SIGTERM (the end record is written with
// a context of its own, bounded in time). A writer killed outright
// (SIGKILL) leaves its begin record alone, which ferry audit verify and
// ferry history report as unfinished.

// AWSFactory makes an ssm environment's AWS clients beside Run Command:
// S3 for its records, SSM for its Change Calendars, STS for the caller.
type AWSFactory func(ctx context.Context, t Target) (*ssm.Services, error)

// DefaultAWS configures the clients as DefaultTransport does: the SDK's
// own loading with the environment's region and profile, or awsConfig.
func DefaultAWS(awsConfig *aws.Config) AWSFactory {
	return func(ctx context.Context, t Target) (*ssm.Services, error) {
		if t.Env.SSM == nil {
			return nil, fmt.Errorf("environment %s has no ssm: section", t.Name)
		}
		return ssm.NewServices(ctx, t.Env.SSM.Region, t.Env.SSM.Profile, awsConfig)
	}
}

// RecordsFactory opens the record chain of app's environment t; aws makes
// its AWS clients when it needs them.
type RecordsFactory func(ctx context.Context, app string, t Target, aws func() (*ssm.Services, error)) (*recordstore.Store, error)

// DefaultRecords keeps an ssm environment's records in its bucket, under
// <prefix>/records/<app>/<environment>/, and a local one's under its root
// (<root>/records).
func DefaultRecords(ctx context.Context, app string, t Target, aws func() (*ssm.Services, error)) (*recordstore.Store, error) {
	switch t.Env.Target {
	case config.TargetLocal:
		return recordstore.NewDir(recordstore.LocalDir(t.Root)), nil
	case config.TargetSSM:
		svc, err := aws()
		if err != nil {
			return nil, err
		}
		return recordstore.NewS3(svc.S3, t.Env.SSM.Bucket, recordstore.S3Prefix(t.Env.SSM.Prefix, app, t.Name)), nil
	}
	return nil, fmt.Errorf("environment %s: target %q keeps no records", t.Name, t.Env.Target)
}

// services are t's AWS clients, made once per command.
func (c Common) services(ctx context.Context, t *target) (*ssm.Services, error) {
	if t.svc == nil {
		svc, err := c.AWS(ctx, c.exported(t))
		if err != nil {
			return nil, err
		}
		t.svc = svc
	}
	return t.svc, nil
}

// exported is t as the factory's hooks see it.
func (c Common) exported(t *target) Target {
	return Target{Name: t.name, Env: t.env, Root: t.root, Getenv: c.Getenv, WorkDir: c.WorkDir}
}

// store opens t's record chain, once per command.
func (c Common) store(ctx context.Context, t *target) (*recordstore.Store, error) {
	if t.records == nil {
		s, err := c.Records(ctx, t.cfg.App, c.exported(t), func() (*ssm.Services, error) { return c.services(ctx, t) })
		if err != nil {
			return nil, fail.Hint(fmt.Errorf("open the records of %s: %w", t.name, err), recordsHint(t))
		}
		t.records = s
	}
	return t.records, nil
}

func recordsHint(t *target) string {
	if t.env.Target == config.TargetSSM {
		return fmt.Sprintf("the deploying identity needs s3:ListBucket, s3:GetObject and s3:PutObject on s3://%s/%s", t.env.SSM.Bucket, recordstore.S3Prefix(t.env.SSM.Prefix, t.cfg.App, t.name))
	}
	return "ferry needs to write " + recordstore.LocalDir(t.root)
}

// attempt is one recorded attempt: the record, filled in as the runner
// learns, the chain it goes to and its begin record once written. It is
// the one way commands that change servers record what they do — deploy,
// rollback, fleet rollback, and ferry exec next:
//
//	a, err := c.beginAttempt(ctx, t, record.OpExec, sha)  // before anything is sent
//	... run it ...
//	a.end(ctx, c, runErr, results)                        // whatever happened
type attempt struct {
	rec   *record.Record
	store *recordstore.Store
	begin record.Stored
	// ended is the end record once written; endErr why it was not.
	ended  *record.Stored
	endErr error
}

// endTimeout bounds writing an end record after the command's context
// has been cancelled (Ctrl-C, SIGTERM).
const endTimeout = 30 * time.Second

// beginAttempt writes the begin record of op on t (the commit sha when
// known): who, what, where and when it started. An attempt that cannot
// be recorded is not made: nothing has been sent yet.
func (c Common) beginAttempt(ctx context.Context, t *target, op record.Op, sha string) (*attempt, error) {
	store, err := c.store(ctx, t)
	if err != nil {
		return nil, err
	}
	gitUser := ""
	if t.inRepo {
		gitUser = t.repo.UserName()
	}
	r := &record.Record{
		ID: record.NewID(), Op: op, App: t.cfg.App, Environment: t.name,
		Actor: record.ActorFrom(c.Getenv, gitUser), FerryVersion: version.Get().Version, RunURL: t.ci.RunURL(),
		Started: time.Now().UTC(), Target: record.Target{Kind: t.env.Target},
	}
	if t.env.Target == config.TargetSSM {
		if svc, err := c.services(ctx, t); err == nil {
			if arn, err := svc.CallerARN(ctx); err == nil {
				r.Actor.AWSPrincipal = arn
			} else {
				c.debugf("the AWS principal is not recorded: %v", err)
			}
		}
	}
	if sha != "" {
		r.Change.SHA = sha
		if t.inRepo {
			r.Change.CommitTime, _ = t.repo.CommitTime(sha)
			if b, err := t.repo.Branch(t.ci); err == nil {
				r.Change.Branch = b
			}
		}
	}
	a := &attempt{rec: r, store: store}
	b, err := store.Append(ctx, a.redacted(c, r.AsBegin()))
	if err != nil {
		if t.svc != nil {
			// The bucket itself may be the problem: say so as the preflight would.
			if berr := t.svc.CheckBucket(ctx, t.env.SSM.Bucket); berr != nil {
				return nil, transport.Preflight(berr)
			}
		}
		return nil, fail.New(exitcode.Failed, fmt.Errorf("record the %s of %s before it starts: %w", op, t.name, err),
			"nothing was sent: an attempt that cannot be recorded is not made", recordsHint(t))
	}
	a.begin = b
	c.debugf("record %d (begin) in %s", b.Seq, store.Location())
	return a, nil
}

// redacted is r with the run's secrets hidden in its free text.
func (a *attempt) redacted(c Common, r *record.Record) *record.Record {
	if c.redact == nil {
		return r
	}
	out := *r
	out.Error = c.redact.text(r.Error)
	out.Hints = nil
	for _, h := range r.Hints {
		out.Hints = append(out.Hints, c.redact.text(h))
	}
	out.Target.Instances = nil
	for _, in := range r.Target.Instances {
		in.Error = c.redact.text(in.Error)
		out.Target.Instances = append(out.Target.Instances, in)
	}
	if r.Emergency != nil {
		e := *r.Emergency
		e.Reason = c.redact.text(e.Reason)
		out.Emergency = &e
	}
	return &out
}

// end writes the end record: the outcome of runErr and results, with a
// context that outlives the command's own (bounded by endTimeout). A
// record that cannot be written is a warning: what the servers did is
// done, and ferry audit verify reports the attempt as unfinished.
func (a *attempt) end(ctx context.Context, c Common, runErr error, results []transport.TargetResult) {
	r := a.rec
	r.BeginSeq = a.begin.Seq
	outcome := attemptOutcome(ctx, runErr, results)
	r.Finish(outcome, fail.Code(runErr), time.Now().UTC())
	if runErr != nil {
		r.Error, r.Hints = runErr.Error(), allHints(runErr)
	}
	r.Target.Instances = nil
	for _, tr := range results {
		res := tr.Result
		r.Target.Instances = append(r.Target.Instances, record.Instance{ID: tr.Target, Outcome: res.Outcome, ExitCode: res.ExitCode, Release: res.Release, Error: res.Error})
		if r.Change.Release == "" {
			r.Change.Release, r.Change.PreviousRelease = res.Release, res.Previous
		}
	}
	if outcome == record.OutcomeLocked {
		r.Refusal = &record.Refusal{Policy: record.PolicyLock, Reason: text.FirstLine(r.Error)}
	}
	if transport.IsPreflight(runErr) && r.Refusal == nil {
		r.Refusal = &record.Refusal{Policy: record.PolicyPreflight, Reason: text.FirstLine(r.Error)}
	}
	if r.Outcome == record.OutcomeRefused && r.Refusal == nil {
		// A refusal this ferry does not name otherwise (none today).
		r.Refusal = &record.Refusal{Policy: record.PolicyWindow, Reason: text.FirstLine(r.Error)}
	}
	if r.Reason == "" && outcome != record.OutcomeDeployed && outcome != record.OutcomeOK {
		r.Reason = failedAgentStep(results)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	s, err := a.store.Append(wctx, a.redacted(c, r))
	if err != nil {
		a.endErr = err
		fmt.Fprintf(c.Err, "%s the outcome of this %s could not be recorded in %s: %v (ferry audit verify will report it unfinished)\n",
			c.painter().Paint(ansi.Yellow, "warning:"), r.Op, a.store.Location(), err)
		return
	}
	a.ended = &s
	c.debugf("record %d (end, %s) in %s", s.Seq, outcome, a.store.Location())
}

// allHints are err's hints and those of each problem it holds (each
// server's failure), each once.
func allHints(err error) []string {
	var out []string
	seen := map[string]bool{}
	add := func(hs []string) {
		for _, h := range hs {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	add(fail.Hints(err))
	for _, p := range fail.Problems(err) {
		add(fail.Hints(p))
	}
	return out
}

// attemptOutcome is how an attempt ended, in the record's words: the
// worst server's outcome, interrupted when a signal (or ferry's cancel)
// stopped it, or, with no server's answer, refused, failed or
// interrupted as the runner's error says.
func attemptOutcome(ctx context.Context, runErr error, results []transport.TargetResult) record.Outcome {
	if results == nil {
		switch {
		case fail.Code(runErr) == exitcode.Refused:
			return record.OutcomeRefused
		case ctx.Err() != nil || errors.Is(runErr, context.Canceled):
			return record.OutcomeInterrupted
		}
		return record.OutcomeFailed
	}
	worstOutcome, _ := worst(results)
	for _, r := range results {
		if r.Result.Outcome == ssm.OutcomeCancelled || interrupted(r.Result) {
			return record.OutcomeInterrupted
		}
	}
	if ctx.Err() != nil && worstOutcome != agent.OutcomeDeployed {
		return record.OutcomeInterrupted
	}
	switch worstOutcome {
	case agent.OutcomeDeployed:
		return record.OutcomeDeployed
	case agent.OutcomeOK:
		return record.OutcomeOK
	case agent.OutcomeRolledBack:
		return record.OutcomeRolledBack
	case agent.OutcomeRollbackFailed:
		return record.OutcomeRollbackFailed
	case agent.OutcomeLocked:
		return record.OutcomeLocked
	case ssm.OutcomeUnknown:
		return record.OutcomeUnknown
	}
	return record.OutcomeFailed // failed, invalid, not_run
}

// interrupted reads an agent result's "interrupted" flag through its
// JSON form: agents that know it set it when a signal stopped them.
func interrupted(r agent.Result) bool {
	b, err := json.Marshal(r)
	if err != nil {
		return false
	}
	var v struct {
		Interrupted bool `json:"interrupted"`
	}
	return json.Unmarshal(b, &v) == nil && v.Interrupted
}

// failedAgentStep is the first agent step that failed on any server.
func failedAgentStep(results []transport.TargetResult) string {
	for _, r := range results {
		for _, s := range r.Result.Steps {
			if s.Status == agent.StepFailed {
				return string(s.Name)
			}
		}
	}
	return ""
}

// recordSteps are the runner's steps done so far, then the agent's steps
// of the first server (the order DownMS reads: from stop on, the old
// release no longer serves normally).
func recordSteps(runner []stepRecord, results []transport.TargetResult) []record.Step {
	var out []record.Step
	for _, s := range runner {
		out = append(out, record.Step{Name: s.Name, Status: s.Status, DurationMS: s.DurationMS})
	}
	if len(results) > 0 {
		for _, s := range results[0].Result.Steps {
			out = append(out, record.Step{Name: string(s.Name), Status: string(s.Status), DurationMS: s.DurationMS})
		}
	}
	return out
}

// recordGates is what the record keeps of the gates.
func recordGates(g *gateSummary) *record.Gates {
	switch {
	case g == nil:
		return nil
	case g.skipped:
		return &record.Gates{Skipped: true, Reason: "--skip-gates"}
	case g.report == nil:
		return nil
	}
	out := &record.Gates{}
	for _, r := range g.report.Gates {
		out.Results = append(out.Results, record.GateResult{Name: r.Name, Status: string(r.Status), Blocking: r.Blocking, DurationMS: r.Duration.Milliseconds(), Summary: r.Summary})
	}
	return out
}

// recordNotifications is what the record keeps of the deliveries.
func recordNotifications(rs []notify.Result) []record.Notification {
	var out []record.Notification
	for _, r := range rs {
		out = append(out, record.Notification{Channel: r.Channel, Index: r.Index, Target: r.Target, Event: string(r.Event), Delivered: r.Delivered, Attempts: r.Attempts, Error: r.Error})
	}
	return out
}

// The runner's record steps (steps.go).

// stepDone keeps the runner's steps and its first failure for the end
// record (runner.go calls it after each step).
func (o *operation) stepDone(rec stepRecord, err error) {
	o.done = append(o.done, rec)
	var sk *skipped
	if err != nil && !errors.As(err, &sk) && o.firstErr == nil {
		o.firstErr, o.failedStep = err, rec.Name
	}
}

// recordBegin writes the attempt's begin record before anything else
// runs: a deploy that cannot be recorded is not made.
func (o *operation) recordBegin(ctx context.Context) error {
	op := record.OpDeploy
	if o.op == agent.OpRollback {
		op = record.OpRollback
		if o.t.env.Target == config.TargetSSM {
			op = record.OpFleetRollback
		}
	}
	a, err := o.beginAttempt(ctx, o.t, op, o.spec.SHA)
	if err != nil {
		return err
	}
	a.rec.Hotfix = o.hotfix
	o.att = a
	return nil
}

// recordEnd writes the end record with everything the attempt learned;
// it runs after a failure too, and after Ctrl-C.
func (o *operation) recordEnd(ctx context.Context) error {
	a := o.att
	if a == nil {
		return skip("no begin record")
	}
	r := a.rec
	if o.spec.SHA != "" {
		r.Change.SHA = o.spec.SHA
	}
	r.Gates = recordGates(o.gateRun)
	r.Steps = recordSteps(o.done, o.results)
	r.Notifications = recordNotifications(o.notified)
	if d := o.decision; d != nil && d.Emergency != nil {
		r.Emergency = &record.Emergency{Reason: d.Emergency.Reason, Overridden: d.Emergency.Rules()}
	}
	if o.firstErr != nil && o.failedStep != "transport" {
		r.Reason = o.failedStep
	}
	switch {
	case o.failedStep == "gates" && fail.Code(o.firstErr) == exitcode.Refused:
		r.Refusal = &record.Refusal{Policy: record.PolicyGate, Reason: text.FirstLine(o.firstErr.Error())}
	case o.failedStep == "policy" && o.decision != nil:
		r.Refusal = &record.Refusal{Policy: refusingPolicy(o.decision), Reason: text.FirstLine(o.firstErr.Error())}
	}
	a.end(ctx, o.Common, o.firstErr, o.results)
	if a.endErr != nil {
		return skip("not recorded: " + a.endErr.Error())
	}
	return nil
}

// recordRef is where a deploy's records went, in its --json result.
type recordRef struct {
	Location string `json:"location"`
	BeginSeq int64  `json:"begin_seq"`
	Seq      int64  `json:"seq,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (a *attempt) ref() *recordRef {
	if a == nil {
		return nil
	}
	r := &recordRef{Location: a.store.Location(), BeginSeq: a.begin.Seq}
	if a.ended != nil {
		r.Seq = a.ended.Seq
	}
	if a.endErr != nil {
		r.Error = a.endErr.Error()
	}
	return r
}

// indexPath is the record index: $FERRY_INDEX, else the user cache's.
func (c Common) indexPath() (string, error) {
	if p := c.Getenv("FERRY_INDEX"); p != "" {
		return c.abs(p), nil
	}
	return index.DefaultPath()
}

// openIndex opens the record index (it is created when missing).
func (c Common) openIndex() (*index.Index, error) {
	path, err := c.indexPath()
	if err != nil {
		return nil, err
	}
	return index.Open(path)
}
