package dora_test

import (
	"math"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
)

const (
	h = time.Hour
	s = time.Second
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The seeded history (see recordtest.History for the pattern). Every
// expected value below was worked out by hand from the pattern, and
// checked with a separate throwaway script; none comes from this package.
//
// Window: [T0+10 d, T0+40 d). Deploy i ends at i×4.8 h + (60+10·(i mod 6)) s,
// so deploys 50..199 end inside it: 150 deployments.
//
//   - Frequency: 150 / 30 days = 5 a day, 35 a week: elite (more than one a day).
//   - Duration: i mod 6 takes each value 25 times over 50..199, so the
//     sorted durations are 25×60 s, 25×70, 25×80, 25×90, 25×100, 25×110:
//     median = (75th + 76th)/2 = (80+90)/2 = 85 s; p90 = 135th = 110 s.
//   - Failures: i mod 10 = 3 → 53,63,…,193 = 15 (13 rolled back, 63 and
//     163 with a failed rollback); rolled back by hand (i mod 20 = 7) →
//     67,87,…,187 = 7; followed by a hotfix (i mod 50 = 25) → 75,125,175 = 3.
//     25 of 150: change fail rate 1/6 ≈ 16.7%: high (at most 20%).
//   - Recovery: 13 automatic rollbacks × 30 s (down from stop on); 7 by
//     hand × (20 min + 40 s) = 1240 s; 63→64 and 163→164: 4.8 h + (100−90)
//     s and 4.8 h + (80−70) s = 17290 s; 75→76: 17280 + (100−90) = 17290;
//     125→126: 17280 + (60−110) = 17230; 175→176: 17290. Sorted: 13×30,
//     7×1240, 17230, 4×17290: median (13th) = 30 s, p90 (23rd) = 17290 s.
//     Elite (under an hour).
//   - Rework: 7 rollbacks + hotfixes (i mod 10 = 4: 54..194 = 15; i mod
//     50 = 26: 76,126,176 = 3) = 25, of 150 deployments + 7 rollbacks = 157.
//   - Lead time: healthy deploys 150 − 15 = 135, less the redeploys of an
//     already healthy commit (i mod 25 = 21: 71,96,121,146,171,196) = 129
//     changes; lead = 2^(i mod 5) h + 6 h × ⌊i/50⌋. Median 19 h, p90 28 h:
//     elite (under a day).
//
// Noise (refusals, a failed fetch flagged --hotfix, execs, begin records)
// changes none of these.
func TestSeededHistory(t *testing.T) {
	events := dora.FromStored(recordtest.Chain(t, recordtest.History("production")...))
	rep := dora.Compute(events, dora.Options{Now: recordtest.HistoryNow})

	if !rep.From.Equal(recordtest.T0.Add(240*h)) || !rep.To.Equal(recordtest.HistoryNow) {
		t.Errorf("window %v..%v", rep.From, rep.To)
	}
	f := rep.DeploymentFrequency
	if f.Deployments != 150 || !near(f.PerDay, 5) || !near(f.PerWeek, 35) || f.Band != dora.Elite {
		t.Errorf("deployment frequency %+v, want 150, 5/day, 35/week, elite", f)
	}
	if d := rep.DeploymentDuration; d.Count != 150 || d.Median != 85*s || d.P90 != 110*s || d.Band != dora.None {
		t.Errorf("deployment duration %+v, want 150, median 85s, p90 110s, no band", d)
	}
	if c := rep.ChangeFailRate; c.Count != 25 || c.Total != 150 || !near(c.Value, 25.0/150) || c.Band != dora.High {
		t.Errorf("change fail rate %+v, want 25/150, high", c)
	}
	if r := rep.RecoveryTime; r.Count != 25 || r.Median != 30*s || r.P90 != 17290*s || r.Band != dora.Elite || rep.Unrecovered != 0 {
		t.Errorf("recovery time %+v (unrecovered %d), want 25, median 30s, p90 17290s, elite", r, rep.Unrecovered)
	}
	if r := rep.ReworkRate; r.Count != 25 || r.Total != 157 || !near(r.Value, 25.0/157) || r.Band != dora.None {
		t.Errorf("rework rate %+v, want 25/157, no band", r)
	}
	if l := rep.LeadTime; l.Count != 129 || l.Median != 19*h || l.P90 != 28*h || l.Band != dora.Elite {
		t.Errorf("lead time %+v, want 129, median 19h, p90 28h, elite", l)
	}
}

// Weeks (Monday to Monday) overlapping the window: T0+7 d (partial, from
// T0+10 d), +14, +21, +28, +35 (partial, to T0+40 d). Deploys ending in
// each: 50..69, 70..104, 105..139, 140..174, 175..199. Lead medians and
// failures counted from the pattern, recovery medians from the failures
// of each week (week 1: 53 → 30 s, 63 → 17290 s, 67 → 1240 s: 1240 s).
func TestSeededWeekly(t *testing.T) {
	events := dora.FromStored(recordtest.Chain(t, recordtest.History("production")...))
	weeks := dora.Weekly(events, recordtest.T0.Add(240*h), recordtest.HistoryNow)
	want := []struct {
		deploys, failures int
		lead, recovery    time.Duration
	}{
		{20, 3, 10 * h, 1240 * s},
		{35, 6, 10 * h, 30 * s},
		{35, 6, 16 * h, 635 * s},
		{35, 6, 20 * h, 635 * s},
		{25, 4, 22 * h, 635 * s},
	}
	if len(weeks) != len(want) {
		t.Fatalf("%d weeks, want %d", len(weeks), len(want))
	}
	for i, w := range want {
		g := weeks[i]
		if !g.Start.Equal(recordtest.T0.AddDate(0, 0, 7*(i+1))) {
			t.Errorf("week %d starts %v", i, g.Start)
		}
		if g.Deployments != w.deploys || g.Failures != w.failures || g.LeadMedian == nil || *g.LeadMedian != w.lead ||
			g.RecoveryMedian == nil || *g.RecoveryMedian != w.recovery || g.Recoveries != w.failures {
			t.Errorf("week %d: %+v (lead %v, recovery %v), want %+v", i, g, g.LeadMedian, g.RecoveryMedian, w)
		}
	}
}

func ev(seq int64, op record.Op, o record.Outcome, end time.Time) dora.Event {
	return dora.Event{Seq: seq, Op: op, Outcome: o, Started: end.Add(-time.Minute), Ended: end, SHA: "s" + string(rune('a'+seq)), CommitTime: end.Add(-2 * h)}
}

func TestUnrecoveredAndOutsideWindow(t *testing.T) {
	t0 := recordtest.T0
	events := []dora.Event{
		ev(1, record.OpDeploy, record.OutcomeDeployed, t0.Add(-40*24*h)), // before the window
		ev(2, record.OpDeploy, record.OutcomeRollbackFailed, t0.Add(h)),  // fails; nothing healthy after
		ev(3, record.OpDeploy, record.OutcomeFailed, t0.Add(2*h)),        // changed nothing
	}
	rep := dora.Compute(events, dora.Options{Now: t0.Add(24 * h)})
	if rep.DeploymentFrequency.Deployments != 1 || rep.ChangeFailRate.Count != 1 || rep.Unrecovered != 1 || rep.RecoveryTime.Count != 0 {
		t.Fatalf("%+v", rep)
	}
	if rep.LeadTime.Count != 0 || rep.LeadTime.Band != dora.None {
		t.Fatalf("a failed deploy has no lead time: %+v", rep.LeadTime)
	}
	// A redeploy of a commit that was healthy before the window is not a
	// new change.
	events = []dora.Event{ev(1, record.OpDeploy, record.OutcomeDeployed, t0.Add(-40*24*h)), ev(2, record.OpDeploy, record.OutcomeDeployed, t0.Add(h))}
	events[1].SHA = events[0].SHA
	if rep := dora.Compute(events, dora.Options{Now: t0.Add(24 * h)}); rep.LeadTime.Count != 0 || rep.DeploymentFrequency.Deployments != 1 {
		t.Fatalf("redeploy counted as a change: %+v", rep)
	}
}

func TestBands(t *testing.T) {
	t0 := recordtest.T0
	// n deploys in a 30-day window.
	freq := func(n int) dora.Band {
		var es []dora.Event
		for i := range n {
			es = append(es, ev(int64(i+1), record.OpDeploy, record.OutcomeDeployed, t0.Add(time.Duration(i)*time.Minute)))
		}
		return dora.Compute(es, dora.Options{Now: t0.Add(24 * h)}).DeploymentFrequency.Band
	}
	for n, want := range map[int]dora.Band{0: dora.Low, 1: dora.Medium, 4: dora.Medium, 5: dora.High, 30: dora.High, 31: dora.Elite} {
		if got := freq(n); got != want {
			t.Errorf("%d deploys in 30 days: %s, want %s", n, got, want)
		}
	}
	lead := func(d time.Duration) dora.Band {
		e := ev(1, record.OpDeploy, record.OutcomeDeployed, t0)
		e.CommitTime = t0.Add(-d)
		return dora.Compute([]dora.Event{e}, dora.Options{Now: t0.Add(h)}).LeadTime.Band
	}
	for d, want := range map[time.Duration]dora.Band{23 * h: dora.Elite, 24 * h: dora.High, 6 * 24 * h: dora.High, 7 * 24 * h: dora.Medium, 29 * 24 * h: dora.Medium, 30 * 24 * h: dora.Low} {
		if got := lead(d); got != want {
			t.Errorf("lead %v: %s, want %s", d, got, want)
		}
	}
	// k of 20 deploys rolled back.
	cfr := func(k int) dora.Band {
		var es []dora.Event
		for i := range 20 {
			o := record.OutcomeDeployed
			if i < k {
				o = record.OutcomeRolledBack
			}
			es = append(es, ev(int64(i+1), record.OpDeploy, o, t0.Add(time.Duration(i)*time.Minute)))
		}
		return dora.Compute(es, dora.Options{Now: t0.Add(h)}).ChangeFailRate.Band
	}
	for k, want := range map[int]dora.Band{0: dora.Elite, 1: dora.Elite, 2: dora.High, 4: dora.High, 5: dora.Low} {
		if got := cfr(k); got != want {
			t.Errorf("%d of 20 failed: %s, want %s", k, got, want)
		}
	}
	rec := func(d time.Duration) dora.Band {
		es := []dora.Event{ev(1, record.OpDeploy, record.OutcomeDeployed, t0), ev(2, record.OpRollback, record.OutcomeDeployed, t0.Add(d))}
		return dora.Compute(es, dora.Options{Now: t0.Add(30 * 24 * h)}).RecoveryTime.Band
	}
	for d, want := range map[time.Duration]dora.Band{59 * time.Minute: dora.Elite, h: dora.High, 23 * h: dora.High, 24 * h: dora.Low} {
		if got := rec(d); got != want {
			t.Errorf("recovery %v: %s, want %s", d, got, want)
		}
	}
}

func TestWeekStart(t *testing.T) {
	sun := time.Date(2025, 3, 9, 23, 0, 0, 0, time.UTC)
	if got := dora.WeekStart(sun); !got.Equal(recordtest.T0) {
		t.Fatalf("WeekStart(Sunday) = %v", got)
	}
	if got := dora.WeekStart(recordtest.T0); !got.Equal(recordtest.T0) {
		t.Fatalf("WeekStart(Monday 00:00) = %v", got)
	}
}
