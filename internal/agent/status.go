package agent

import (
	"context"
	"sort"

	"github.com/ferryhq/ferry/internal/health"
)

// The read-only operations, and unlock: none takes the lock.

const damagedHint = "state.json cannot be read: check the deployment root's permissions and disk"

// readOnlyState loads the state for an operation that takes no lock: a
// damaged state.json is replaced in memory only (see loadState), with a
// warning; the next operation under the lock, or op repair, writes it.
func (o *op) readOnlyState() (*State, bool) {
	st, ld, err := loadState(o.l)
	if err != nil {
		o.fail(err, damagedHint)
		return nil, false
	}
	if msg := ld.message(o.l, ""); msg != "" {
		o.warn(msg + "; run ferry repair " + o.spec.Environment + " to write it back")
	}
	return st, true
}

// lastGood is the release to go back to: the newest kept healthy release
// other than the current one. Previous in state.json is only the release
// that served before the current one, which may have been bad.
func (st *State) lastGood() *Release {
	if p := st.find(st.Previous); p != nil && p.Status == StatusHealthy && !p.Pruned && p.ID != st.Current {
		return p
	}
	for i := len(st.Releases) - 1; i >= 0; i-- {
		r := &st.Releases[i]
		if r.ID != st.Current && r.Status == StatusHealthy && !r.Pruned {
			return r
		}
	}
	return nil
}

// status reports what the target serves, without taking the lock: it
// must answer while a deploy runs.
func (o *op) status(ctx context.Context) string {
	st, ok := o.readOnlyState()
	if !ok {
		return OutcomeFailed
	}
	s := &Status{}
	if r := st.find(st.Current); r != nil {
		c := public(*r)
		s.Current = &c
		o.res.Release, o.res.SHA = r.ID, r.SHA
	}
	if r := st.lastGood(); r != nil {
		p := public(*r)
		s.Previous = &p
		o.res.Previous = r.ID
	}
	for _, r := range st.Releases {
		if (r.Status == StatusBad || r.Status == StatusFailed) && !r.Pruned {
			s.Bad = append(s.Bad, BadRelease{ID: r.ID, SHA: r.SHA, Status: r.Status, Reason: r.Reason})
		}
	}
	if h, running := o.sup.Current(ctx); h.PID != 0 || running {
		s.PID = h.PID
		s.Running = running
	}
	if owner, err := readOwner(o.l.lock()); err == nil && lockHeld(owner, o.host) {
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

// releases lists the kept releases, newest first.
func (o *op) releases() string {
	st, ok := o.readOnlyState()
	if !ok {
		return OutcomeFailed
	}
	list := make([]Release, 0, len(st.Releases))
	for _, r := range st.Releases {
		list = append(list, public(r))
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
	o.res.Releases = list
	o.res.Release = st.Current
	if r := st.lastGood(); r != nil {
		o.res.Previous = r.ID
	}
	return OutcomeOK
}

// reportRepair fills Result.Repair from what the lock step found.
func (o *op) reportRepair() {
	if o.state == nil {
		return
	}
	r := o.repair
	if r == nil {
		r = &RepairReport{State: "ok"}
	}
	r.Releases, r.Current = len(o.state.Releases), o.state.Current
	o.res.Repair = r
	o.res.Release = o.state.Current
}

// breakLock removes the lock whoever holds it, for a person who knows the
// holder is gone.
func (o *op) breakLock() string {
	owner, err := unlock(o.l.lock(), o.host)
	if err != nil {
		o.res.Lock = owner
		o.fail(err, "remove the lock directory by hand")
		if owner != nil {
			return OutcomeLocked
		}
		return OutcomeFailed
	}
	o.res.Lock = owner
	return OutcomeOK
}
