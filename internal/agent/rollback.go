package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/health"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
)

// rollback returns the target to an earlier kept release with no fetch
// and no install: its directory and venv are already there.
func (o *op) rollback(ctx context.Context) string {
	var unlock func()
	if err := o.run.run(ctx, o.lockStep(ctx, &unlock)); err != nil {
		return o.lockFailure(err)
	}
	defer unlock()
	from := o.state.Current
	target, err := o.rollbackTarget()
	if err != nil {
		o.fail(err, "list kept releases with: ferry releases "+o.spec.Environment)
		return OutcomeFailed
	}
	o.res.Release, o.res.SHA, o.res.Previous = target.ID, target.SHA, from
	var h proc.Handle
	stopped := false
	steps := []Step{
		step{"verify", func(context.Context) error {
			if _, err := os.Stat(o.l.release(target.ID)); err != nil {
				return fmt.Errorf("release %s is gone from disk", target.ID)
			}
			if target.Venv != "" && !pyenv.Complete(o.l.venv(target.Venv)) {
				return fmt.Errorf("the venv of release %s was removed", target.ID)
			}
			return nil
		}},
		step{"stop", func(context.Context) error {
			if _, running := o.sup.current(o); !running {
				return skip("no process running")
			}
			stopped = true
			return o.sup.stop(o, o.stopTimeoutOf(o.state.find(from)))
		}},
		step{"switch", func(context.Context) error {
			o.state.Current, o.state.Previous = target.ID, from
			if err := o.saveState(); err != nil {
				return err
			}
			return o.l.pointCurrent(target.ID)
		}},
		step{"start", func(context.Context) error {
			var err error
			h, err = o.sup.start(o, target)
			return err
		}},
		step{"health", func(ctx context.Context) error { return checkRelease(ctx, o, h, target) }},
	}
	for i, s := range steps {
		if err := o.run.run(ctx, s); err != nil {
			o.fail(fmt.Errorf("%s: %w", s.String(), err), "")
			o.res.LogTail = tailFile(o.l.appLog(target.ID), 50)
			if i == 0 || (!stopped && i == 1) {
				return OutcomeFailed
			}
			return o.restoreAfterRollback(ctx, from, h)
		}
	}
	if r := o.state.find(from); r != nil && from != target.ID {
		r.Reason = "rolled back to " + target.ID
	}
	if err := o.saveState(); err != nil {
		o.warn(err.Error())
	}
	return OutcomeDeployed
}

// stopTimeout is the grace the running release asked for when it was
// deployed, falling back to the spec's.
func (o *op) stopTimeoutOf(r *Release) time.Duration {
	if d := o.runOf(r).StopTimeout; d > 0 {
		return d
	}
	return defaultStop
}

const defaultStop = 10 * time.Second

// restoreAfterRollback puts back what served before a failed rollback.
func (o *op) restoreAfterRollback(ctx context.Context, from string, h proc.Handle) string {
	if h.PID != 0 {
		o.sup.stop(o, defaultStop)
	}
	prev := o.state.find(from)
	if prev == nil {
		o.state.Current = ""
		o.saveState()
		o.l.pointCurrent("")
		return OutcomeRollbackFailed
	}
	err := o.run.run(ctx, step{"restore", func(ctx context.Context) error {
		o.state.Current = from
		if err := o.saveState(); err != nil {
			return err
		}
		if err := o.l.pointCurrent(from); err != nil {
			return err
		}
		nh, err := o.sup.start(o, prev)
		if err != nil {
			return err
		}
		return checkRelease(ctx, o, nh, prev)
	}})
	if err != nil {
		o.res.Error += "; restore: " + err.Error()
		o.res.Hints = append(o.res.Hints, "nothing may be serving: check shared/logs/ and run ferry status")
		return OutcomeRollbackFailed
	}
	o.res.Hints = append(o.res.Hints, "the rollback target did not come up healthy; "+from+" serves again")
	return OutcomeRolledBack
}

// rollbackTarget picks the named release, or the previous healthy one.
func (o *op) rollbackTarget() (*Release, error) {
	st := o.state
	if o.spec.To != "" {
		var found []*Release
		for i := len(st.Releases) - 1; i >= 0; i-- {
			r := &st.Releases[i]
			if r.Pruned {
				continue
			}
			if r.ID == o.spec.To || strings.HasPrefix(r.SHA, o.spec.To) {
				found = append(found, r)
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no kept release matches %q", o.spec.To)
		}
		r := found[0]
		if r.Status != StatusHealthy {
			return nil, fmt.Errorf("release %s is %s, not healthy: refusing to roll back to it", r.ID, r.Status)
		}
		if r.ID == st.Current {
			return nil, fmt.Errorf("release %s is already current", r.ID)
		}
		return r, nil
	}
	if p := st.find(st.Previous); p != nil && p.Status == StatusHealthy && !p.Pruned && p.ID != st.Current {
		return p, nil
	}
	for i := len(st.Releases) - 1; i >= 0; i-- {
		r := &st.Releases[i]
		if r.ID != st.Current && r.Status == StatusHealthy && !r.Pruned {
			return r, nil
		}
	}
	return nil, fmt.Errorf("there is no earlier healthy release to roll back to")
}

// status reports what the target serves, without taking the lock: it
// must answer while a deploy runs.
func (o *op) status(ctx context.Context) string {
	st, err := loadState(o.l.state())
	if err != nil {
		o.fail(err, "state.json is damaged; inspect it by hand")
		return OutcomeFailed
	}
	s := &Status{}
	if r := st.find(st.Current); r != nil {
		c := *r
		s.Current = &c
		o.res.Release, o.res.SHA = r.ID, r.SHA
	}
	if r := st.find(st.Previous); r != nil {
		p := *r
		s.Previous = &p
	}
	if h, running := o.sup.current(o); h.PID != 0 || running {
		s.PID = h.PID
		s.Running = running
	}
	if owner, err := readOwner(o.l.lock()); err == nil {
		s.Locked = &owner
	}
	if s.Current != nil {
		hs := o.runOf(st.find(st.Current)).Health
		ok, note := health.Once(ctx, health.Check{URL: o.healthURL(st.find(st.Current)), Status: hs.Status, VersionField: hs.VersionField, Version: s.Current.SHA})
		s.Healthy, s.HealthNote = ok, note
	}
	o.res.Status = s
	return OutcomeOK
}
