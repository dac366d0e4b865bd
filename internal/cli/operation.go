package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gates"
	"github.com/ferryhq/ferry/internal/github"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/policy"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
)

// operation is what the runner's steps share for one deploy or rollback:
// what the command line asked for, what plan decided, what later steps
// add. Each step is a method; steps.go lists them.
type operation struct {
	Common
	op string // agent.OpApply or agent.OpRollback
	// From the command line.
	env       string
	ref       string
	to        string
	lockWait  time.Duration
	skipGates bool
	// emergency, reason and hotfix are deploy's --emergency, --reason and
	// --hotfix; noWatch its --no-watch.
	emergency bool
	reason    string
	hotfix    bool
	noWatch   bool
	// junit and sarif are the gates' report files (deploy --junit, --sarif).
	junit, sarif string

	// Filled by the steps.
	t       *target
	spec    agent.Spec
	gateRun *gateSummary
	results []transport.TargetResult
	steps   []stepRecord

	// The attempt's record (records.go): the runner's steps as they end,
	// the first failure and its step; the policy's decision (policystep.go)
	// and the notifications sent (notifystep.go).
	att        *attempt
	done       []stepRecord
	firstErr   error
	failedStep string
	decision   *policy.Decision
	notified   []notify.Result
	announced  bool
	// deployment is the GitHub deployment the github step started.
	deployment *github.Tracker
	// approverLogins are who approved the run's deployment (notifystep.go),
	// asked once.
	approverLogins []string
	approversAsked bool
}

// gateSummary is what a deploy records of the gates it ran or skipped.
type gateSummary struct {
	skipped bool
	report  *gates.Report
}

// run runs steps and sets the --json result from what is known.
func (o *operation) run(steps []step[*operation]) error {
	records, err := runSteps(o.context(), o.Common, steps, o)
	o.steps = records
	o.finishDeployment(o.context(), err)
	if o.t != nil {
		o.setResult(o.result(err))
	}
	return err
}

// planDeploy: the configuration, the environment (argument or branch),
// the exact SHA, and a refusal of uncommitted changes when deploying HEAD.
func (o *operation) planDeploy(ctx context.Context) error {
	t, err := o.loadTarget(o.env, true)
	if err != nil {
		return err
	}
	// The repository's answers do not depend on one another: asked at
	// once, they cost about one git call's time instead of three.
	var sha string
	var dirty []string
	var rerr, derr error
	var asked sync.WaitGroup
	asked.Go(func() { sha, rerr = t.repo.Resolve(o.ref) })
	asked.Go(func() { t.deployer() }) // remembered for the spec
	if o.ref == "HEAD" {
		asked.Go(func() { dirty, derr = t.repo.Dirty() })
	}
	asked.Wait()
	if rerr != nil {
		return fail.New(exitcode.Usage, rerr, "give --ref a branch, tag or commit SHA that exists locally (git fetch first?)")
	}
	if o.ref == "HEAD" {
		if derr != nil {
			return derr
		}
		if len(dirty) > 0 {
			return fail.New(exitcode.Usage, fmt.Errorf("uncommitted changes are not deployable: %s", strings.Join(first(dirty, 5), ", ")),
				"commit (or stash) them and deploy again; ferry deploys commits, never the work tree")
		}
	}
	if !t.repo.HasPath(sha, t.appDir) {
		return fail.New(exitcode.Usage, fmt.Errorf("the app directory %s does not exist at %s", t.appDir, text.Short(sha)), "check dir: in ferry.yml")
	}
	cfg := t.cfg
	spec := t.baseSpec(agent.OpApply)
	spec.SHA = sha
	spec.Source = agent.Source{Kind: "git", URL: t.repo.Dir, Subdir: t.appDir}
	spec.Python = cfg.Python
	spec.Runtime = cfg.Runtime
	if cfg.Runtime == config.RuntimeNone {
		spec.Python = agent.NoPython // how agents before runtime: spell it
	}
	spec.Requirements = cfg.Requirements
	spec.Pip.IndexURL, spec.Pip.FindLinks, spec.Pip.NoIndex = cfg.Pip.IndexURL, cfg.Pip.FindLinks, cfg.Pip.NoIndex
	spec.Hooks = hooksOf(cfg.Hooks)
	spec.Pip.SystemSitePackages = cfg.Pip.SystemSitePackages
	spec.LockWait = o.lockWait
	if o.noWatch {
		spec.Health.Watch, spec.Health.WatchFailures = 0, 0
	}
	o.t, o.spec = t, spec
	return nil
}

// hooksOf is ferry.yml's hooks: for the agent; nil when there are none.
func hooksOf(h config.Hooks) *agent.Hooks {
	if len(h.BeforeSwitch)+len(h.AfterHealthy)+len(h.OnFailure) == 0 {
		return nil
	}
	return &agent.Hooks{BeforeSwitch: h.BeforeSwitch, AfterHealthy: h.AfterHealthy, OnFailure: h.OnFailure, Timeout: h.Timeout}
}

// planRollback: the configuration and the environment; the agent finds
// the release to return to.
func (o *operation) planRollback(ctx context.Context) error {
	t, err := o.loadTarget(o.env, false)
	if err != nil {
		return err
	}
	o.t = t
	o.spec = t.baseSpec(agent.OpRollback)
	o.spec.To = o.to
	o.spec.LockWait = o.lockWait
	// A release a person rolled back from is not one to return to: a
	// later rollback must not pick it again (deploying its commit again
	// makes a fresh release of it, reusing its venv).
	o.spec.MarkBad = "rolled back by " + o.spec.Deployer + " with ferry rollback"
	return nil
}

// chooseRelease picks, for a fleet (target ssm) rolled back without
// --to, the one release every server goes to: each server is asked what
// it serves and keeps (the releases op), and fleetTarget chooses. A
// single server (local) leaves the choice to its agent.
func (o *operation) chooseRelease(ctx context.Context) error {
	switch {
	case o.to != "":
		return skip("--to names the release")
	case o.t.env.Target != config.TargetSSM:
		return skip("one server: its agent picks the previous good release")
	}
	results, err := o.t.tr.Run(ctx, o.t.baseSpec(agent.OpReleases), nil)
	if err != nil {
		return err
	}
	for _, r := range results {
		if err := r.Result.Err(); err != nil {
			return fail.Hint(fmt.Errorf("rollback: ask %s what it keeps: %w", r.Target, err), "nothing was changed")
		}
	}
	sha, from, err := fleetTarget(o.t.name, results)
	if err != nil {
		return err
	}
	o.spec.To = sha
	fmt.Fprintf(o.Err, "Every server of %s keeps %s healthy, the newest release before %s: rolling all %d to it\n", o.t.name, text.Short(sha), text.Short(from), len(results))
	return nil
}

// gates runs the quality gates on the commit about to be deployed; a
// failing blocking gate refuses the deploy (exit 6).
func (o *operation) gates(ctx context.Context) error {
	if o.skipGates {
		fmt.Fprintf(o.Err, "%s quality gates skipped (--skip-gates): recorded in the result\n", o.painter().Paint(ansi.Yellow, "warning:"))
		o.gateRun = &gateSummary{skipped: true}
		return skip("--skip-gates")
	}
	t, sha := o.t, o.spec.SHA
	// The work tree is the commit when it is clean and on it; otherwise
	// check the commit itself out beside it.
	top := t.repo.Dir
	if t.repo.HeadSHA() != sha {
		dir, cleanup, err := t.repo.Worktree(sha)
		if err != nil {
			return fmt.Errorf("check out %s for the gates: %w", text.Short(sha), err)
		}
		defer cleanup()
		top = dir
	}
	appDir := filepath.Join(top, filepath.FromSlash(t.appDir))
	fmt.Fprintf(o.Err, "Quality gates on %s\n", text.Short(sha))
	rep, err := o.runGates(ctx, t.cfg, appDir, t.name)
	if err != nil {
		return err
	}
	prefix := t.appDir
	if prefix == "." {
		prefix = ""
	}
	o.gateRun = &gateSummary{report: rep}
	if err := o.writeGateReports(rep, o.junit, o.sarif, prefix); err != nil {
		return err
	}
	o.showGates(o.Err, rep, prefix)
	if !rep.Passed {
		return fail.New(exitcode.Refused, fmt.Errorf("deploy refused: blocking gate %s failed", strings.Join(rep.BlockingFailures(), ", ")),
			"fix what the gates report and commit, or run ferry check to iterate; --skip-gates deploys anyway and is recorded")
	}
	return nil
}

// transport hands the spec to the environment's transport (ship, send,
// wait for ssm; the agent in-process for local). The servers' failures
// are its failure, with the worst exit code: the report explains them.
func (o *operation) transport(ctx context.Context) error {
	t := o.t
	if o.op == agent.OpRollback {
		what := "the previous good release"
		if o.spec.To != "" {
			what = o.spec.To
			if len(what) > 12 {
				what = text.Short(what)
			}
		}
		fmt.Fprintf(o.Err, "Rolling %s back to %s\n", t.name, what)
	} else {
		fmt.Fprintf(o.Err, "Deploying %s %s to %s (%s)\n", t.cfg.App, text.Short(o.spec.SHA), t.name, t.env.Target)
	}
	p := newProgress(o.Common)
	results, err := t.tr.Run(ctx, o.spec, p.event)
	if err != nil {
		return err
	}
	o.results = results
	warnAgentVersions(o.Common, results)
	if o.op == agent.OpRollback && len(results) > 0 {
		o.spec.SHA = results[0].Result.SHA
	}
	return targetsErr(results)
}

// targetsErr is the servers' failures as one error: each server's as a
// problem of its own, the exit code the worst of them (it names what
// needs the most attention). The summary has printed them already.
func targetsErr(results []transport.TargetResult) error {
	_, code := worst(results)
	if code == exitcode.OK {
		return nil
	}
	var errs []error
	for _, r := range results {
		if err := r.Result.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Target, err))
		}
	}
	return fail.New(code, reported(errors.Join(errs...)))
}

// worst folds per-target outcomes: the highest exit code wins.
func worst(results []transport.TargetResult) (string, int) {
	outcome, code := agent.OutcomeDeployed, 0
	for _, r := range results {
		if r.Result.ExitCode > code {
			outcome, code = r.Result.Outcome, r.Result.ExitCode
		}
	}
	return outcome, code
}

// report prints the closing lines and the job summary, and the line that
// says where the app serves. It runs after a failure too; with nothing
// sent to the servers there is nothing to summarize.
func (o *operation) report(ctx context.Context) error {
	if o.results == nil {
		o.summarizeNotSent(ctx)
		return skip("nothing was sent to the servers")
	}
	o.summarize()
	if _, code := worst(o.results); o.JSON || code != 0 {
		return nil
	}
	url := appURL(o.t.cfg.Health.URL)
	where := "at " + url
	if strings.Contains(url, "${") || len(o.results) > 1 {
		// The URL varies per server (or is a template): name the servers.
		where = fmt.Sprintf("on %d servers", len(o.results))
	}
	fmt.Fprintf(o.Out, "%s %s is serving %s (%s, release %s)\n", o.t.cfg.App, text.Short(o.spec.SHA), where, o.t.name, o.results[0].Result.Release)
	return nil
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}
