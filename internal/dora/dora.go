// Package dora computes DORA's software delivery metrics for one
// environment from its audit records: deployment frequency, change lead
// time, change fail rate, failed deployment recovery time and deployment
// rework rate (DORA's five, as dora.dev's guide and the 2024 Accelerate
// State of DevOps report define them), plus deployment duration, each
// with DORA's 2024 performance band where DORA defines one. The
// definitions, formulas and thresholds are in docs/metrics.md; this
// package is their one implementation.
//
// The CLI's calls:
//
//	events, err := idx.Events(ctx, app, env)          // from package index, or
//	events := dora.FromStored(objs)                    // straight from a store's records
//	rep := dora.Compute(events, dora.Options{Now: time.Now()})  // 30-day window by default
//	weeks := dora.Weekly(events, from, to)             // the dashboard's time series
//
// Compute needs the environment's whole history (or at least what
// precedes the window), not just the window: whether a deploy is a
// change's first healthy deploy, and what followed a deploy, can lie
// outside it.
package dora

import (
	"math"
	"sort"
	"time"

	"github.com/ferryhq/ferry/internal/record"
)

// Event is what the metrics need of one finished attempt (an end
// record): its place in the chain, operation and outcome, start and
// end, the deployed commit and its time, and the hotfix flag.
type Event struct {
	Seq        int64          `json:"seq"`
	Op         record.Op      `json:"op"`
	Outcome    record.Outcome `json:"outcome"`
	Started    time.Time      `json:"started"`
	Ended      time.Time      `json:"ended"`
	CommitTime time.Time      `json:"commit_time,omitzero"`
	SHA        string         `json:"sha,omitempty"`
	Hotfix     bool           `json:"hotfix,omitempty"`
	// DownMS is how long the old release was not serving normally during
	// a deploy: from its stop step to the end (0 when unknown).
	DownMS int64 `json:"down_ms,omitempty"`
}

// FromRecord extracts an end record's event.
func FromRecord(r *record.Record) Event {
	return Event{
		Seq: r.Seq, Op: r.Op, Outcome: r.Outcome, Started: r.Started, Ended: r.Ended,
		CommitTime: r.Change.CommitTime, SHA: r.Change.SHA, Hotfix: r.Hotfix, DownMS: DownMS(r.Steps),
	}
}

// DownMS sums the steps from "stop" on: the part of a deploy during
// which the old release no longer served normally.
func DownMS(steps []record.Step) int64 {
	var ms int64
	on := false
	for _, s := range steps {
		if s.Name == "stop" {
			on = true
		}
		if on {
			ms += s.DurationMS
		}
	}
	return ms
}

// FromStored returns the events of a chain's end records, in order.
// Begin records and objects that do not parse are left out.
func FromStored(objs []record.Stored) []Event {
	var out []Event
	for _, o := range objs {
		if o.Record != nil && o.Record.Phase == record.PhaseEnd {
			out = append(out, FromRecord(o.Record))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// Band is a DORA performance level.
type Band string

// Bands. BandNone means DORA defines no levels for the metric (or there
// was nothing to measure).
const (
	Elite  Band = "elite"
	High   Band = "high"
	Medium Band = "medium"
	Low    Band = "low"
	None   Band = ""
)

// Options sets the window.
type Options struct {
	// Now ends the window (exclusive); required.
	Now time.Time
	// Window is its length; default 30 days.
	Window time.Duration
}

// DefaultWindow is the window when none is given.
const DefaultWindow = 30 * 24 * time.Hour

// Frequency is deployment frequency: the count in the window, per day
// and per week, and the band.
type Frequency struct {
	Deployments int     `json:"deployments"`
	PerDay      float64 `json:"per_day"`
	PerWeek     float64 `json:"per_week"`
	Band        Band    `json:"band"`
}

// Durations summarises a set of durations: how many, the median, the
// nearest-rank 90th percentile, and the median's band.
type Durations struct {
	Count  int           `json:"count"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
	Band   Band          `json:"band"`
}

// Rate is a ratio with its parts (Count of Total), its Value and band.
type Rate struct {
	Count int     `json:"count"`
	Total int     `json:"total"`
	Value float64 `json:"value"`
	Band  Band    `json:"band"`
}

// Report is one environment's metrics over the window [From, To).
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// DeploymentFrequency counts deploys that reached the servers.
	DeploymentFrequency Frequency `json:"deployment_frequency"`
	// LeadTime is commit time to healthy in the environment, per change.
	LeadTime Durations `json:"change_lead_time"`
	// ChangeFailRate is the share of deployments that needed a rollback
	// or a hotfix.
	ChangeFailRate Rate `json:"change_fail_rate"`
	// RecoveryTime is failed deployment recovery time; Unrecovered counts
	// failures with no healthy deploy or rollback after them yet.
	RecoveryTime Durations `json:"failed_deployment_recovery_time"`
	Unrecovered  int       `json:"unrecovered"`
	// ReworkRate is the share of deployments (rollbacks included) that
	// were unplanned: rollbacks and hotfixes.
	ReworkRate Rate `json:"deployment_rework_rate"`
	// DeploymentDuration is start to end of each deployment (not a DORA
	// metric; no band).
	DeploymentDuration Durations `json:"deployment_duration"`
}

// isDeployment: a deploy that reached the servers (the switch happened),
// healthy or not. Refused, locked, failed-before-the-switch and
// interrupted attempts changed nothing in production.
func isDeployment(e Event) bool {
	if e.Op != record.OpDeploy {
		return false
	}
	switch e.Outcome {
	case record.OutcomeDeployed, record.OutcomeRolledBack, record.OutcomeRollbackFailed:
		return true
	}
	return false
}

// isRollback: a rollback (manual or fleet) that changed what serves.
func isRollback(e Event) bool {
	if e.Op != record.OpRollback && e.Op != record.OpFleetRollback {
		return false
	}
	return e.Outcome == record.OutcomeDeployed || e.Outcome == record.OutcomeRollbackFailed
}

// isHealthy: the environment serves a healthy release after e.
func isHealthy(e Event) bool {
	return (isDeployment(e) || isRollback(e)) && e.Outcome == record.OutcomeDeployed
}

// analysis is the history's changes with what the metrics derive.
type analysis struct {
	changes []Event // deployments and rollbacks, in order
	failed  []bool  // per change: a deployment that failed
	// recovery per failed change (-1: not recovered)
	recovery []time.Duration
	// firstHealthy per change: its SHA's first healthy deploy
	firstHealthy []bool
}

func analyse(events []Event) analysis {
	events = append([]Event(nil), events...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].Seq < events[j].Seq })
	var a analysis
	for _, e := range events {
		if isDeployment(e) || isRollback(e) {
			a.changes = append(a.changes, e)
		}
	}
	n := len(a.changes)
	a.failed = make([]bool, n)
	a.recovery = make([]time.Duration, n)
	a.firstHealthy = make([]bool, n)
	seen := map[string]bool{}
	for i, e := range a.changes {
		if !isDeployment(e) {
			continue
		}
		if e.Outcome == record.OutcomeDeployed && e.SHA != "" && !seen[e.SHA] {
			seen[e.SHA] = true
			a.firstHealthy[i] = true
		}
		switch {
		case e.Outcome == record.OutcomeRolledBack || e.Outcome == record.OutcomeRollbackFailed:
			a.failed[i] = true
		case i+1 < n && (isRollback(a.changes[i+1]) || a.changes[i+1].Hotfix):
			// Healthy when it ended, but the next change undid it or
			// repaired it.
			a.failed[i] = true
		}
		if !a.failed[i] {
			continue
		}
		a.recovery[i] = -1
		if e.Outcome == record.OutcomeRolledBack {
			// ferry's own rollback restored the previous release inside
			// the attempt: service was impaired from stop to the end.
			if e.DownMS > 0 {
				a.recovery[i] = time.Duration(e.DownMS) * time.Millisecond
			} else {
				a.recovery[i] = e.Ended.Sub(e.Started)
			}
			continue
		}
		for _, next := range a.changes[i+1:] {
			if isHealthy(next) {
				a.recovery[i] = next.Ended.Sub(e.Ended)
				break
			}
		}
	}
	return a
}

func inWindow(e Event, from, to time.Time) bool {
	return !e.Ended.Before(from) && e.Ended.Before(to)
}

// Compute returns the metrics of one environment's events (its whole
// history, any order) over the window ending at opts.Now.
func Compute(events []Event, opts Options) Report {
	w := opts.Window
	if w <= 0 {
		w = DefaultWindow
	}
	to := opts.Now
	from := to.Add(-w)
	rep := Report{From: from, To: to}
	a := analyse(events)

	var leads, recoveries, durations []time.Duration
	deployments, failed, rollbacks, hotfixes := 0, 0, 0, 0
	for i, e := range a.changes {
		if !inWindow(e, from, to) {
			continue
		}
		if isRollback(e) {
			rollbacks++
			continue
		}
		deployments++
		durations = append(durations, e.Ended.Sub(e.Started))
		if e.Hotfix {
			hotfixes++
		}
		if a.firstHealthy[i] && !e.CommitTime.IsZero() {
			leads = append(leads, e.Ended.Sub(e.CommitTime))
		}
		if a.failed[i] {
			failed++
			if a.recovery[i] >= 0 {
				recoveries = append(recoveries, a.recovery[i])
			} else {
				rep.Unrecovered++
			}
		}
	}

	days := w.Hours() / 24
	rep.DeploymentFrequency = Frequency{Deployments: deployments, PerDay: float64(deployments) / days, PerWeek: float64(deployments) / days * 7}
	rep.DeploymentFrequency.Band = frequencyBand(rep.DeploymentFrequency.PerDay, deployments)
	rep.LeadTime = summarise(leads, leadBand)
	rep.ChangeFailRate = rate(failed, deployments, failRateBand)
	rep.RecoveryTime = summarise(recoveries, recoveryBand)
	rep.ReworkRate = rate(rollbacks+hotfixes, deployments+rollbacks, nil)
	rep.DeploymentDuration = summarise(durations, nil)
	return rep
}

// Week is one week's values for the charts: deployments, failed
// deployments and recoveries among them, and the medians.
type Week struct {
	// Start is the Monday 00:00 UTC the week begins.
	Start       time.Time `json:"start"`
	Deployments int       `json:"deployments"`
	Failures    int       `json:"failures"`
	// LeadMedian and RecoveryMedian are nil when the week had none.
	LeadMedian     *time.Duration `json:"lead_median_ns,omitempty"`
	Recoveries     int            `json:"recoveries"`
	RecoveryMedian *time.Duration `json:"recovery_median_ns,omitempty"`
}

// WeekStart is the Monday 00:00 UTC that begins t's week.
func WeekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// Weekly returns one Week per calendar week (Monday to Monday, UTC) that
// overlaps [from, to), counting only what ended inside [from, to); the
// first and last weeks may be partial.
func Weekly(events []Event, from, to time.Time) []Week {
	a := analyse(events)
	var weeks []Week
	for s := WeekStart(from); s.Before(to); s = s.AddDate(0, 0, 7) {
		weeks = append(weeks, Week{Start: s})
	}
	leads := make([][]time.Duration, len(weeks))
	recs := make([][]time.Duration, len(weeks))
	for i, e := range a.changes {
		if !isDeployment(e) || !inWindow(e, from, to) {
			continue
		}
		k := int(WeekStart(e.Ended).Sub(weeks[0].Start).Hours() / (24 * 7))
		weeks[k].Deployments++
		if a.firstHealthy[i] && !e.CommitTime.IsZero() {
			leads[k] = append(leads[k], e.Ended.Sub(e.CommitTime))
		}
		if a.failed[i] {
			weeks[k].Failures++
			if a.recovery[i] >= 0 {
				recs[k] = append(recs[k], a.recovery[i])
			}
		}
	}
	for k := range weeks {
		if len(leads[k]) > 0 {
			m := median(leads[k])
			weeks[k].LeadMedian = &m
		}
		weeks[k].Recoveries = len(recs[k])
		if len(recs[k]) > 0 {
			m := median(recs[k])
			weeks[k].RecoveryMedian = &m
		}
	}
	return weeks
}

func summarise(ds []time.Duration, band func(time.Duration) Band) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	s := Durations{Count: len(ds), Median: median(ds), P90: percentile(ds, 0.9)}
	if band != nil {
		s.Band = band(s.Median)
	}
	return s
}

func rate(n, total int, band func(float64) Band) Rate {
	r := Rate{Count: n, Total: total}
	if total == 0 {
		return r
	}
	r.Value = float64(n) / float64(total)
	if band != nil {
		r.Band = band(r.Value)
	}
	return r
}

func sorted(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

// median is the middle value, or the mean of the two middle values.
func median(ds []time.Duration) time.Duration {
	s := sorted(ds)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile is the nearest-rank percentile: the smallest value with at
// least p of the values at or below it.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := sorted(ds)
	k := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(k, 0)]
}

const day = 24 * time.Hour

// The bands below map DORA's 2024 clusters to thresholds; see
// docs/metrics.md for why each boundary is where it is.

func frequencyBand(perDay float64, n int) Band {
	switch {
	case n == 0:
		return Low
	case perDay > 1:
		return Elite
	case perDay*7 >= 1:
		return High
	case perDay*30 >= 1:
		return Medium
	}
	return Low
}

func leadBand(d time.Duration) Band {
	switch {
	case d < day:
		return Elite
	case d < 7*day:
		return High
	case d < 30*day:
		return Medium
	}
	return Low
}

// failRateBand: the best cluster whose typical rate the value meets.
// 2024's clusters are elite 5%, high 20%, medium 10%, low 40%: medium's
// rate is better than high's, so a rate alone never places medium.
func failRateBand(r float64) Band {
	switch {
	case r <= 0.05:
		return Elite
	case r <= 0.20:
		return High
	}
	return Low
}

// recoveryBand: elite under an hour, high (and medium, which 2024 gives
// the same value) under a day, low otherwise.
func recoveryBand(d time.Duration) Band {
	switch {
	case d < time.Hour:
		return Elite
	case d < day:
		return High
	}
	return Low
}
