package agent

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// A deploy and a rollback are each one declared list of steps. A step
// carries its name, its phase (what its failure means) and the hint a
// person gets when it fails; one runner (runStep) times, reports and
// records every step, and execute decides from the failed step's phase
// whether nothing changed or what served must be restored. A new
// capability (a hook before the switch, a policy check, a watch after
// health) is one more line in a list, and one step definition.

// phase says what the failure of a step means.
type phase int

const (
	// prepare: before the switch, nothing that serves was touched; the
	// operation fails with nothing changed (exit 1, or the code the
	// step's error carries: 5 for a held lock).
	prepare phase = iota
	// serve: from stopping what serves to proving the new release
	// healthy; a failure restores the release that served before (exit
	// 3), or needs a person when that fails too (exit 4).
	serve
	// cleanup: after the operation succeeded; a failure is a warning.
	cleanup
)

// step is one named stage of an operation. run returns skip("why") when
// the step does not apply.
type step struct {
	name  StepName
	phase phase
	// hint tells a person what to do when the step fails; steps whose
	// advice depends on what failed put it on their error (fail.Hint).
	hint string
	run  func(ctx context.Context, o *op) error
}

// The steps, each defined once; the plans below list them in order.
var (
	lockStep    = step{StepLock, prepare, "", takeLock}
	fetchStep   = step{StepFetch, prepare, "check that the commit is pushed and the repository URL is reachable from the server", fetch}
	venvStep    = step{StepVenv, prepare, "", makeVenv}
	installStep = step{StepInstall, prepare, "fix requirements.txt or the pip options in ferry.yml", install}
	linkStep    = step{StepLink, prepare, "check the shared paths in ferry.yml", link}
	verifyStep  = step{StepVerify, prepare, "", verify}
	stopStep    = step{StepStop, serve, "", stop}
	switchStep  = step{StepSwitch, serve, "", switchCurrent}
	startStep   = step{StepStart, serve, "", start}
	healthStep  = step{StepHealth, serve, "", proveHealthy}
	watchStep   = step{StepWatch, serve, "", watchHealthy}
	pruneStep   = step{StepPrune, cleanup, "", prune}
	// The hooks of ferry.yml: before_switch fails the deploy with nothing
	// changed; after_healthy and on_failure only warn.
	beforeSwitchStep = hookStep(StepBeforeSwitch, prepare, func(h *Hooks) [][]string { return h.BeforeSwitch })
	afterHealthyStep = hookStep(StepAfterHealthy, cleanup, func(h *Hooks) [][]string { return h.AfterHealthy })
	onFailureStep    = hookStep(StepOnFailure, cleanup, func(h *Hooks) [][]string { return h.OnFailure })
)

// plan is an operation: its steps in order, and how it puts back what
// served when a step of the serve phase fails.
type plan struct {
	steps []step
	// restore returns to the release that served before; its hint is for
	// when that fails too.
	restore step
	// restored tells a person what serves after a successful restore.
	restored func(o *op) string
	// unserved tells a person why nothing serves when a step of the
	// serve phase failed and nothing served before.
	unserved func(o *op) string
	// onFailure, when set, runs after a failure has been handled (what
	// served restored): its own failure is a warning.
	onFailure *step
}

// deployPlan builds a release, switches to it and proves it healthy.
var deployPlan = plan{
	steps: []step{
		lockStep,
		fetchStep,
		venvStep,
		installStep,
		linkStep,
		beforeSwitchStep,
		stopStep,
		switchStep,
		startStep,
		healthStep,
		writesStep,
		afterHealthyStep,
		watchStep,
		pruneStep,
	},
	onFailure: &onFailureStep,
	restore:   step{StepRollback, serve, "rollback failed: nothing may be serving. Check shared/logs/ and run ferry status, then ferry rollback --to a known good SHA", restorePrevious},
	restored: func(o *op) string {
		return fmt.Sprintf("rolled back to %s, which serves again; the failed release %s is kept for diagnosis%s", o.from, o.to, o.logNote(" (log: %s)"))
	},
	unserved: func(o *op) string {
		return "this was the first deploy, so nothing serves" + o.logNote("; see the log tail and %s")
	},
}

// rollbackPlan returns to an earlier kept release with no fetch and no
// install: its directory and venv are already there.
var rollbackPlan = plan{
	steps: []step{
		lockStep,
		verifyStep,
		stopStep,
		switchStep,
		startStep,
		healthStep,
	},
	restore: step{StepRestore, serve, "nothing may be serving: check shared/logs/ and run ferry status", restorePrevious},
	restored: func(o *op) string {
		return "the rollback target did not come up healthy; " + o.from + " serves again"
	},
	unserved: func(o *op) string {
		return "nothing served before this rollback, so nothing serves" + o.logNote("; see the log tail and %s")
	},
}

// repairPlan is op repair: the lock step loads and repairs the state,
// which is all there is to do.
var repairPlan = plan{steps: []step{lockStep}}

// logNote formats the app log of o.to into format, or is "" when the app
// never ran and so wrote no log: a hint never points at a missing file.
func (o *op) logNote(format string) string {
	if _, err := os.Stat(o.l.appLog(o.to)); err != nil {
		return ""
	}
	return fmt.Sprintf(format, "shared/logs/app-"+o.to+".log")
}

// execute runs p's steps in order and returns the outcome. The lock the
// lock step takes is held until the end.
func (o *op) execute(ctx context.Context, p plan) string {
	defer func() {
		if o.unlock != nil {
			o.unlock()
		}
	}()
	for _, s := range p.steps {
		err := o.runStep(ctx, s)
		if err == nil {
			continue
		}
		var fin finished
		if errors.As(err, &fin) {
			o.res.Note = fin.reason
			return OutcomeOK
		}
		switch s.phase {
		case prepare:
			return o.failed(ctx, p, s, o.failUntouched(s, err))
		case serve:
			return o.failed(ctx, p, s, o.restore(ctx, p, s, err))
		case cleanup:
			o.warn(fmt.Sprintf("%s: %s", s.name, text.FirstLine(err.Error())))
		}
	}
	return OutcomeDeployed
}

// failed runs p's on_failure step once a failure of step s has been
// handled with outcome, and returns outcome: a hook cannot change what
// happened. A deploy refused by its lock never started, so it runs none.
func (o *op) failed(ctx context.Context, p plan, s step, outcome string) string {
	if p.onFailure == nil || outcome == OutcomeLocked || s.name == StepLock {
		return outcome
	}
	h := *p.onFailure
	run := h.run
	h.run = func(ctx context.Context, o *op) error {
		o.hookEnv = map[string]string{"FERRY_FAILED_STEP": string(s.name), "FERRY_OUTCOME": outcome}
		defer func() { o.hookEnv = nil }()
		return run(ctx, o)
	}
	tail := o.res.LogTail
	if err := o.runStep(context.WithoutCancel(ctx), h); err != nil {
		o.warn(fmt.Sprintf("%s: %s", h.name, text.FirstLine(err.Error())))
	}
	if tail != nil {
		o.res.LogTail = tail // the failure's own log tail, not the hook's
	}
	return outcome
}

// failUntouched ends an operation whose step failed before anything that
// serves was touched: a release it was building is marked failed.
func (o *op) failUntouched(s step, err error) string {
	if o.built {
		o.state.set(o.to, StatusFailed, string(s.name)+": "+text.FirstLine(err.Error()))
		if serr := o.saveState(); serr != nil {
			o.warn(serr.Error())
		}
	}
	o.fail(fmt.Errorf("%s: %w", s.name, err), s.hint)
	if o.from != "" {
		o.res.Hints = append(o.res.Hints, "the current release "+o.from+" is untouched and still serving")
	}
	if fail.Code(err) == exitcode.Locked {
		return OutcomeLocked
	}
	return OutcomeFailed
}

// restore runs when a step of the serve phase failed: what this operation
// started stops, a release it built is marked bad (kept, with its log, for
// diagnosis), and the release that served before comes back and must
// prove healthy. An interrupted operation is restored too: the restore
// runs to its own bounds (the stop's grace, the health deadline), not to
// the caller's context, which may be what ended the step.
func (o *op) restore(ctx context.Context, p plan, s step, cause error) string {
	ctx = context.WithoutCancel(ctx)
	o.res.LogTail = text.TailFile(o.l.appLog(o.to), 50)
	if o.handle.PID != 0 {
		o.sup.Stop(ctx, o.stopTimeoutOf(o.state.find(o.to)))
	}
	if o.built {
		o.state.set(o.to, StatusBad, string(s.name)+": "+text.FirstLine(cause.Error()))
	}
	o.fail(fmt.Errorf("%s: %w", s.name, cause), s.hint)
	if o.state.find(o.from) == nil {
		// Nothing served before (a first deploy): nothing to return to.
		o.state.Current, o.state.Previous = "", ""
		if err := o.saveState(); err != nil {
			o.warn(err.Error())
		}
		o.l.pointCurrent("")
		o.res.Hints = append(o.res.Hints, p.unserved(o))
		return OutcomeFailed
	}
	if !o.stopped && !o.switched {
		return OutcomeFailed
	}
	if err := o.runStep(ctx, p.restore); err != nil {
		o.res.Hints = append(o.res.Hints, p.restore.hint)
		o.res.Error += "; " + string(p.restore.name) + ": " + err.Error()
		return OutcomeRollbackFailed
	}
	o.res.Hints = append(o.res.Hints, p.restored(o))
	return OutcomeRolledBack
}
