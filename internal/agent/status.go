package agent

import (
	"context"
	"sort"

	"github.com/ferryhq/ferry/internal/health"
)

// The read-only operations, and unlock: none takes the lock.

const damagedHint = "state.json is damaged; inspect it by hand"

// status reports what the target serves, without taking the lock: it
// must answer while a deploy runs.
func (o *op) status(ctx context.Context) string {
	st, err := loadState(o.l.state())
	if err != nil {
		o.fail(err, damagedHint)
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
	st, err := loadState(o.l.state())
	if err != nil {
		o.fail(err, damagedHint)
		return OutcomeFailed
	}
	list := append([]Release(nil), st.Releases...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Created.After(list[j].Created) })
	o.res.Releases = list
	o.res.Release = st.Current
	o.res.Previous = st.Previous
	return OutcomeOK
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
