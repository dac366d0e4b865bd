package policy

import (
	"slices"
	"time"
)

// The schedule is defined by the wall clock: an instant is inside a
// window when the local clock, at that instant, shows an allowed day and
// time. Two daylight-saving consequences follow, both deliberate:
//
//   - On the spring-forward day a wall time that never happens (02:30 in
//     Europe/Berlin on the last Sunday of March) is inside no window; a
//     window 02:00-03:00 that day does not exist, and one 02:30-04:00
//     opens at the jump, 03:00 CEST.
//   - On the fall-back day a wall time that happens twice is inside the
//     window both times: 02:00-03:00 on the last Sunday of October is open
//     from 02:00 CEST to 03:00 CET, two hours of real time. A person who
//     reads 02:30 on the clock either time sees the window open.
//
// The next opening is found without stepping through time: the answer is
// always one of a few candidate instants (a rule's start or end, a local
// midnight, a zone transition, a freeze bound), each tested against the
// rules, in order.

// horizon bounds every search: a window not found within it is "none".
const horizon = 2 * 366 * 24 * time.Hour

// civil returns the date y-m-d as a UTC midnight, the representation of a
// calendar date here (adding days to it never meets a zone transition).
func civil(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// dateOf is the local calendar date of t in loc.
func dateOf(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return civil(y, m, d)
}

// offsetsNear lists the UTC offsets (seconds) loc uses within a day and a
// half of the naive instant u, and the transitions between them.
func offsetsNear(u time.Time, loc *time.Location) (offsets []int, transitions []time.Time) {
	t := u.Add(-36 * time.Hour)
	limit := u.Add(36 * time.Hour)
	for {
		_, off := t.In(loc).Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(limit) {
			return offsets, transitions
		}
		transitions = append(transitions, end)
		t = end
	}
}

// wallInstants returns the instants at which the clock in loc shows
// minute m of date d: none in a spring-forward gap, two in a fall-back
// overlap, else one; in order.
func wallInstants(d time.Time, m int, loc *time.Location) []time.Time {
	naive := d.Add(time.Duration(m) * time.Minute)
	offs, _ := offsetsNear(naive, loc)
	var out []time.Time
	for _, off := range offs {
		t := naive.Add(-time.Duration(off) * time.Second)
		lt := t.In(loc)
		if lt.Year() == naive.Year() && lt.YearDay() == naive.YearDay() && lt.Hour()*60+lt.Minute() == naive.Hour()*60+naive.Minute() && lt.Second() == 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// startOfDay is the first instant of local date d: its midnight, or the
// end of the gap when a zone skips midnight.
func startOfDay(d time.Time, loc *time.Location) time.Time {
	if ts := wallInstants(d, 0, loc); len(ts) > 0 {
		return ts[0]
	}
	_, trs := offsetsNear(d, loc)
	for _, tr := range trs {
		if dateOf(tr, loc).Equal(d) {
			return tr
		}
	}
	// Unreachable with real zones; the naive midnight is the best guess.
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

// open reports whether the local rules (windows, holidays, freezes) allow
// a deploy at t. Calendars are asked separately: they are remote.
func (r *rules) open(t time.Time) bool {
	return r.windowOpen(t) && r.holidayAt(t) == nil && r.freezeAt(t) == nil
}

// windowOpen reports whether some allow rule holds t. The part of an
// overnight window after midnight belongs to the day before: a holiday
// then keeps it closed, as it kept the evening closed.
func (r *rules) windowOpen(t time.Time) bool {
	if len(r.allow) == 0 {
		return true
	}
	lt := t.In(r.loc)
	minute := lt.Hour()*60 + lt.Minute()
	for _, a := range r.allow {
		in, fromYesterday := a.contains(lt.Weekday(), minute)
		if in && (!fromYesterday || r.holidayOn(dateOf(t, r.loc).AddDate(0, 0, -1)) == nil) {
			return true
		}
	}
	return false
}

func (r *rules) holidayAt(t time.Time) *holiday { return r.holidayOn(dateOf(t, r.loc)) }

// holidayOn returns the holiday on the civil date d, if any.
func (r *rules) holidayOn(d time.Time) *holiday {
	y, m, day := d.Date()
	for i := range r.holidays {
		if r.holidays[i].matches(y, m, day) {
			return &r.holidays[i]
		}
	}
	return nil
}

func (r *rules) freezeAt(t time.Time) *freeze {
	for i := range r.freezes {
		if f := &r.freezes[i]; !t.Before(f.from) && t.Before(f.to) {
			return f
		}
	}
	return nil
}

// candidates returns, sorted, every instant within the local dates
// [from, to) at which open() may change: each day's midnight, each rule's
// start and end, every zone transition, every freeze bound.
func (r *rules) candidates(from, to time.Time) []time.Time {
	var out []time.Time
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		out = append(out, startOfDay(d, r.loc))
		for _, a := range r.allow {
			for _, m := range []int{a.start, a.end} {
				if m < dayMinutes {
					out = append(out, wallInstants(d, m, r.loc)...)
				}
			}
		}
	}
	lo, hi := startOfDay(from, r.loc), startOfDay(to, r.loc)
	for t := lo; ; {
		_, end := t.In(r.loc).ZoneBounds()
		if end.IsZero() || !end.Before(hi) {
			break
		}
		out = append(out, end)
		t = end
	}
	for _, f := range r.freezes {
		for _, b := range []time.Time{f.from, f.to} {
			if !b.Before(lo) && b.Before(hi) {
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return slices.CompactFunc(out, time.Time.Equal)
}

// next returns the first instant at or after t at which open() == want,
// within the horizon; ok is false when there is none.
func (r *rules) next(t time.Time, want bool) (time.Time, bool) {
	t = t.Truncate(0) // drop the monotonic reading: comparisons are by wall instant
	if r.open(t) == want {
		return t, true
	}
	const chunk = 14
	limit := t.Add(horizon)
	var best time.Time
	day := dateOf(t, r.loc).AddDate(0, 0, -1)
	for startOfDay(day, r.loc).Before(limit) {
		end := day.AddDate(0, 0, chunk)
		last := end.AddDate(0, 0, -1)
		var deferred time.Time // the first candidate left to the next chunk
		for _, c := range r.candidates(day, end) {
			if !c.After(t) {
				continue
			}
			if c.After(limit) {
				break
			}
			// A candidate on the chunk's last day may be preceded by one of
			// the next day's (a clock turned back over midnight): the next
			// chunk, which starts on that day, decides it.
			if !dateOf(c, r.loc).Before(last) {
				if deferred.IsZero() {
					deferred = c
				}
				continue
			}
			if r.open(c) == want {
				if best.IsZero() || c.Before(best) {
					best = c
				}
				break
			}
		}
		if !best.IsZero() && (deferred.IsZero() || best.Before(deferred)) {
			return best, true
		}
		day = last
	}
	return best, !best.IsZero()
}
