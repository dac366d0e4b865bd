package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
)

// Options tune an operation beyond its spec.
type Options struct {
	// Emit receives progress events; nil discards them.
	Emit func(Event)
	// Fault names a crash point for tests (see runner.crashAt).
	Fault string
}

// Run performs the spec's operation and returns its result; it never
// panics on bad input and always fills Outcome and ExitCode.
func Run(ctx context.Context, spec Spec, opts Options) Result {
	start := time.Now()
	host, _ := os.Hostname()
	res := Result{Op: spec.Op, App: spec.App, Environment: spec.Environment, SHA: spec.SHA, Host: host}
	emit := opts.Emit
	if emit == nil {
		emit = func(Event) {}
	}
	if err := spec.Validate(); err != nil {
		res.Error = "invalid spec: " + strings.ReplaceAll(err.Error(), "\n", "; ")
		res.Hints = []string{"the spec is made by ferry; if you wrote it by hand, see docs/ARCHITECTURE.md for its fields"}
		res.finish(OutcomeInvalid, start)
		return res
	}
	root, err := ResolveRoot(spec.Root)
	if err != nil {
		res.Error = err.Error()
		res.Hints = []string{"set HOME for the account the agent runs as, or give an absolute root"}
		res.finish(OutcomeInvalid, start)
		return res
	}
	sup, err := supervisorFor(spec.RunAs)
	if err != nil {
		res.Error = err.Error()
		res.Hints = []string{"use run_as: process"}
		res.finish(OutcomeInvalid, start)
		return res
	}
	o := &op{spec: spec, l: layout{root: root}, res: &res, host: host, emit: emit, sup: sup}
	o.run = runner{emit: emit, results: &res.Steps, fault: opts.Fault}
	var outcome string
	switch spec.Op {
	case OpApply:
		outcome = o.apply(ctx)
	case OpRollback:
		outcome = o.rollback(ctx)
	case OpStatus:
		outcome = o.status(ctx)
	case OpReleases:
		outcome = o.releases()
	case OpUnlock:
		outcome = o.unlock()
	}
	res.finish(outcome, start)
	return res
}

// op carries one operation's working state between its steps.
type op struct {
	spec  Spec
	l     layout
	res   *Result
	host  string
	emit  func(Event)
	run   runner
	state *State
	sup   supervisor
}

func (o *op) warn(msg string) {
	o.res.Warnings = append(o.res.Warnings, msg)
	o.emit(Event{Event: "warn", Msg: msg})
}

// fail records the operation's first error and adds its hints.
func (o *op) fail(err error, hints ...string) {
	if o.res.Error == "" {
		o.res.Error = err.Error()
	}
	for _, h := range append(fail.Hints(err), hints...) {
		if h != "" {
			o.res.Hints = append(o.res.Hints, h)
		}
	}
}

func (o *op) saveState() error {
	if err := o.state.save(o.l.state()); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// lockStep takes the target's lock for the rest of the operation.
func (o *op) lockStep(ctx context.Context, release *func()) Step {
	return step{"lock", func(ctx context.Context) error {
		if err := o.l.ensure(); err != nil {
			return fmt.Errorf("prepare %s: %w", o.l.root, err)
		}
		me := LockOwner{Who: o.spec.Deployer, RunURL: o.spec.RunURL, SHA: o.spec.SHA, Op: o.spec.Op, PID: os.Getpid(), Host: o.host, Since: time.Now().UTC(), TTL: o.spec.LockTTL}
		if me.TTL == 0 {
			me.TTL = defaultLockTTL
		}
		me.Start = selfStart()
		rel, err := acquireLock(ctx, o.l.lock(), me, o.spec.LockWait, o.warn)
		if err != nil {
			return err
		}
		*release = rel
		st, err := loadState(o.l.state())
		if err != nil {
			return err
		}
		o.state = st
		o.state.App = o.spec.App
		return o.recover()
	}}
}

// recover repairs what a killed operation left: partial directories go,
// interrupted releases are marked failed, and `current` is made to agree
// with state.json, which is the truth.
func (o *op) recover() error {
	entries, _ := os.ReadDir(o.l.releases())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") || strings.HasPrefix(e.Name(), ".download-") {
			os.RemoveAll(o.l.release(e.Name()))
		}
	}
	changed := false
	for i := range o.state.Releases {
		r := &o.state.Releases[i]
		if r.Status == StatusBuilding {
			r.Status, r.Reason, changed = StatusFailed, "interrupted: the deploy was stopped while building", true
			o.warn(fmt.Sprintf("release %s was left half built by an interrupted deploy; marked failed", r.ID))
		}
	}
	if changed {
		if err := o.saveState(); err != nil {
			return err
		}
	}
	if o.l.currentTarget() != o.state.Current {
		if err := o.l.pointCurrent(o.state.Current); err != nil {
			return fmt.Errorf("repair current link: %w", err)
		}
	}
	return nil
}

func (o *op) lockFailure(err error) string {
	var le *ErrLocked
	if errors.As(err, &le) {
		o.res.Lock = &le.Owner
		o.fail(err, "wait for it to finish, retry with --lock-wait 10m, or if that deploy is dead run: ferry unlock "+o.spec.Environment)
		return OutcomeLocked
	}
	o.fail(fmt.Errorf("lock: %w", err), "check that the deployment root is writable")
	return OutcomeFailed
}

func (o *op) releases() string {
	st, err := loadState(o.l.state())
	if err != nil {
		o.fail(err, "state.json is damaged; inspect it by hand")
		return OutcomeFailed
	}
	list := append([]Release(nil), st.Releases...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
	o.res.Releases = list
	o.res.Release = st.Current
	o.res.Previous = st.Previous
	return OutcomeOK
}

func (o *op) unlock() string {
	owner, err := unlock(o.l.lock())
	if err != nil {
		o.fail(err, "remove the lock directory by hand")
		return OutcomeFailed
	}
	o.res.Lock = owner
	return OutcomeOK
}

// selfStart identifies this process across PID reuse, for the lock.
func selfStart() uint64 { return proc.StartTimeOf(os.Getpid()) }
