package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/policy"
)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a Berlin wall-clock time.
func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, berlin)
}

// sop is the team's schedule from issue 15.
func sop() policy.Environment {
	return policy.Environment{
		Windows: policy.Windows{
			Timezone: "Europe/Berlin",
			Allow:    []string{"Tue-Thu 10:00-14:00"},
			Holidays: []string{"2026-12-24", "2026-12-25"},
		},
		Freezes: []policy.Freeze{{From: "2026-12-20", To: "2027-01-02", Reason: "year-end"}},
	}
}

func newPolicy(t *testing.T, cfg policy.Environment, now time.Time, cals policy.Calendars) *policy.Policy {
	t.Helper()
	p, err := policy.New("production", cfg, policy.Options{Clock: policy.Fixed(now), Calendars: cals})
	if err != nil {
		t.Fatalf("new policy: %v", err)
	}
	return p
}

func check(t *testing.T, cfg policy.Environment, now time.Time, q policy.Request) (*policy.Decision, error) {
	t.Helper()
	return newPolicy(t, cfg, now, nil).Check(context.Background(), q)
}

func hints(err error) string { return strings.Join(fail.Hints(err), "\n") }

// A Friday deploy is refused before anything is sent, naming the rule and
// the next window: Tuesday 10:00 in Berlin.
func TestFridayRefusedWithNextWindow(t *testing.T) {
	d, err := check(t, sop(), at(2026, 11, 27, 11, 0), policy.Request{})
	if err == nil || d.Open || d.Allowed() {
		t.Fatalf("Friday deploy allowed: %+v", d)
	}
	if code := fail.Code(err); code != exitcode.Refused {
		t.Errorf("exit code %d, want %d", code, exitcode.Refused)
	}
	if want := at(2026, 12, 1, 10, 0); !d.NextOpen.Equal(want) {
		t.Errorf("next open %v, want %v", d.NextOpen, want)
	}
	msg := err.Error()
	for _, s := range []string{"deploy to production refused at Fri 2026-11-27 11:00 CET", "outside the deployment windows Tue-Thu 10:00-14:00 (Europe/Berlin)"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q lacks %q", msg, s)
		}
	}
	if h := hints(err); !strings.Contains(h, "deploy in the next window (Tue 2026-12-01 10:00 CET), or with --emergency --reason") {
		t.Errorf("hints %q do not name the next window and the override", h)
	}
	if len(d.Refusals) != 1 || d.Refusals[0].Rule != policy.RuleWindow {
		t.Errorf("refusals %+v, want one window refusal", d.Refusals)
	}
}

// Windows include their start and exclude their end.
func TestWindowBoundsEndExclusive(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{at(2026, 12, 1, 9, 59), false},
		{at(2026, 12, 1, 10, 0), true},
		{time.Date(2026, 12, 1, 13, 59, 59, 999, berlin), true},
		{at(2026, 12, 1, 14, 0), false},
		{at(2026, 12, 3, 13, 0), true},  // Thursday
		{at(2026, 12, 4, 11, 0), false}, // Friday
		{at(2026, 12, 7, 11, 0), false}, // Monday
	} {
		d, err := check(t, sop(), c.at, policy.Request{})
		if d.Open != c.open || (err == nil) != c.open {
			t.Errorf("%v: open %v (err %v), want %v", c.at, d.Open, err, c.open)
		}
	}
	// 09:59 names today's window, 14:00 tomorrow's.
	d, _ := check(t, sop(), at(2026, 12, 1, 9, 59), policy.Request{})
	if !d.NextOpen.Equal(at(2026, 12, 1, 10, 0)) {
		t.Errorf("09:59: next open %v", d.NextOpen)
	}
	d, _ = check(t, sop(), at(2026, 12, 1, 14, 0), policy.Request{})
	if !d.NextOpen.Equal(at(2026, 12, 2, 10, 0)) {
		t.Errorf("14:00: next open %v", d.NextOpen)
	}
}

func TestHoliday(t *testing.T) {
	cfg := sop()
	cfg.Windows.Holidays = []string{"2026-12-01", "05-01"}
	d, err := check(t, cfg, at(2026, 12, 1, 11, 0), policy.Request{})
	if fail.Code(err) != exitcode.Refused || len(d.Refusals) != 1 || d.Refusals[0].Rule != policy.RuleHoliday {
		t.Fatalf("holiday Tuesday: err %v, refusals %+v", err, d.Refusals)
	}
	if !strings.Contains(err.Error(), "Tue 2026-12-01 is a holiday") {
		t.Errorf("error %q does not name the holiday", err)
	}
	if !d.NextOpen.Equal(at(2026, 12, 2, 10, 0)) {
		t.Errorf("next open %v, want Wednesday 10:00", d.NextOpen)
	}
	// 05-01 is every year's 1 May: Tuesday 2029-05-01.
	if d, _ := check(t, cfg, at(2029, 5, 1, 11, 0), policy.Request{}); d.Open {
		t.Errorf("yearly holiday 2029-05-01 is open")
	}
	if d, _ := check(t, cfg, at(2029, 5, 2, 11, 0), policy.Request{}); !d.Open {
		t.Errorf("the day after the yearly holiday is closed: %+v", d.Refusals)
	}
}

// The year-end freeze spans new year; both its days are included, and the
// next window is the first Tuesday after it.
func TestFreezeOverNewYear(t *testing.T) {
	d, err := check(t, sop(), at(2026, 12, 22, 11, 0), policy.Request{})
	if fail.Code(err) != exitcode.Refused || len(d.Refusals) != 1 || d.Refusals[0].Rule != policy.RuleFreeze || d.Refusals[0].Name != "year-end" {
		t.Fatalf("in the freeze: err %v, refusals %+v", err, d.Refusals)
	}
	if !strings.Contains(err.Error(), "inside the freeze 2026-12-20..2027-01-02 (year-end)") {
		t.Errorf("error %q does not name the freeze", err)
	}
	if want := at(2027, 1, 5, 10, 0); !d.NextOpen.Equal(want) {
		t.Errorf("next open %v, want %v", d.NextOpen, want)
	}
	// Thursday 24 December is frozen and a holiday: both are named.
	d, _ = check(t, sop(), at(2026, 12, 24, 11, 0), policy.Request{})
	if len(d.Refusals) != 2 {
		t.Errorf("24 December: refusals %+v, want holiday and freeze", d.Refusals)
	}
	// With every hour allowed, the last frozen minute and the first free one.
	allDay := sop()
	allDay.Windows.Allow = nil
	if d, _ := check(t, allDay, at(2027, 1, 2, 23, 59), policy.Request{}); d.Open {
		t.Errorf("2027-01-02 23:59 is open: the freeze's last day is included")
	}
	if d, _ := check(t, allDay, at(2027, 1, 3, 0, 0), policy.Request{}); !d.Open {
		t.Errorf("2027-01-03 00:00 is closed: %+v", d.Refusals)
	}
	if d, _ := check(t, allDay, at(2026, 12, 19, 23, 59), policy.Request{}); !d.Open {
		t.Errorf("the day before the freeze is closed: %+v", d.Refusals)
	}
	// Instants instead of dates: the end is excluded.
	exact := allDay
	exact.Freezes = []policy.Freeze{{From: "2026-12-20T18:00:00+01:00", To: "2026-12-21T06:00:00+01:00", Reason: "migration"}}
	for _, c := range []struct {
		at   time.Time
		open bool
	}{{at(2026, 12, 20, 17, 59), true}, {at(2026, 12, 20, 18, 0), false}, {at(2026, 12, 21, 5, 59), false}, {at(2026, 12, 21, 6, 0), true}} {
		if d, _ := check(t, exact, c.at, policy.Request{}); d.Open != c.open {
			t.Errorf("exact freeze at %v: open %v, want %v", c.at, d.Open, c.open)
		}
	}
}

// Across the spring change, Tuesday 10:00 Berlin is 08:00 UTC, not 09:00.
func TestNextWindowAcrossSpringForward(t *testing.T) {
	d, _ := check(t, sop(), at(2026, 3, 27, 15, 0), policy.Request{})
	if want := time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC); !d.NextOpen.Equal(want) {
		t.Errorf("next open %v, want %v (10:00 CEST)", d.NextOpen.UTC(), want)
	}
	if h := hints(d.Err()); !strings.Contains(h, "Tue 2026-03-31 10:00 CEST") {
		t.Errorf("hint %q", h)
	}
}

func dstWindow(rule string) policy.Environment {
	return policy.Environment{Windows: policy.Windows{Timezone: "Europe/Berlin", Allow: []string{rule}}}
}

// On 2026-03-29 Berlin's clocks jump from 02:00 CET to 03:00 CEST: a
// window 02:00-03:00 that day does not exist, one 02:30-04:00 opens at the
// jump.
func TestSpringForwardWindow(t *testing.T) {
	sat := at(2026, 3, 28, 12, 0)
	d, _ := check(t, dstWindow("Sun 02:00-03:00"), sat, policy.Request{})
	if want := at(2026, 4, 5, 2, 0); !d.NextOpen.Equal(want) {
		t.Errorf("02:00-03:00: next open %v, want the next Sunday %v", d.NextOpen, want)
	}
	// No instant of the gap day is inside it.
	for m := 0; m < 24*60; m += 15 {
		tm := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
		if d, _ := check(t, dstWindow("Sun 02:00-03:00"), tm, policy.Request{}); d.Open && tm.Before(at(2026, 3, 30, 0, 0)) {
			t.Errorf("%v (%v) is inside a window that does not exist", tm.UTC(), tm.In(berlin))
		}
	}
	d, _ = check(t, dstWindow("Sun 02:30-04:00"), sat, policy.Request{})
	if want := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC); !d.NextOpen.Equal(want) {
		t.Errorf("02:30-04:00: next open %v, want the jump %v (03:00 CEST)", d.NextOpen.UTC(), want)
	}
	p := newPolicy(t, dstWindow("Sun 02:30-04:00"), sat, nil)
	up, err := p.Upcoming(context.Background(), 1)
	if err != nil || len(up) != 1 || up[0].Close.Sub(up[0].Open) != time.Hour {
		t.Errorf("upcoming %+v (%v), want one hour 03:00-04:00 CEST", up, err)
	}
}

// On 2026-10-25 Berlin's clocks go back from 03:00 CEST to 02:00 CET: a
// window 02:00-03:00 is open whenever the clock shows 02:xx, both times.
func TestFallBackWindow(t *testing.T) {
	cfg := dstWindow("Sun 02:00-03:00")
	utc := func(h, m int) time.Time { return time.Date(2026, 10, 25, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{utc(23, 59).AddDate(0, 0, -1), false}, // 01:59 CEST
		{utc(0, 0), true},                      // 02:00 CEST
		{utc(0, 59), true},                     // 02:59 CEST
		{utc(1, 0), true},                      // 02:00 CET, the second time
		{utc(1, 59), true},                     // 02:59 CET
		{utc(2, 0), false},                     // 03:00 CET
	} {
		if d, _ := check(t, cfg, c.at, policy.Request{}); d.Open != c.open {
			t.Errorf("%v (%v): open %v, want %v", c.at, c.at.In(berlin).Format("15:04 MST"), d.Open, c.open)
		}
	}
	p := newPolicy(t, cfg, at(2026, 10, 24, 12, 0), nil)
	up, err := p.Upcoming(context.Background(), 2)
	if err != nil || len(up) != 2 {
		t.Fatalf("upcoming %+v: %v", up, err)
	}
	if !up[0].Open.Equal(utc(0, 0)) || !up[0].Close.Equal(utc(2, 0)) {
		t.Errorf("fall-back window %v - %v, want 00:00Z - 02:00Z (two real hours)", up[0].Open.UTC(), up[0].Close.UTC())
	}
	if got := policy.FormatPeriod(up[0], berlin); got != "Sun 2026-10-25 02:00 CEST - 03:00 CET (2h)" {
		t.Errorf("period shown as %q", got)
	}
	if up[1].Close.Sub(up[1].Open) != time.Hour {
		t.Errorf("the next Sunday's window is %v long", up[1].Close.Sub(up[1].Open))
	}
}

// An overnight window belongs to the day it starts on; a holiday closes
// it at midnight.
func TestOvernightWindow(t *testing.T) {
	cfg := policy.Environment{Windows: policy.Windows{Timezone: "Europe/Berlin", Allow: []string{"Fri 22:00-02:00"}, Holidays: []string{"2026-12-05", "2026-12-11"}}}
	for _, c := range []struct {
		at   time.Time
		open bool
	}{
		{at(2026, 11, 27, 21, 59), false},
		{at(2026, 11, 27, 23, 0), true},
		{at(2026, 11, 28, 1, 59), true}, // Saturday, still Friday's window
		{at(2026, 11, 28, 2, 0), false},
		{at(2026, 12, 4, 23, 0), true},
		{at(2026, 12, 5, 0, 30), false},  // Saturday 5 December is a holiday
		{at(2026, 12, 11, 23, 0), false}, // Friday 11 December is one:
		{at(2026, 12, 12, 0, 30), false}, // its window does not open after midnight either
	} {
		if d, _ := check(t, cfg, c.at, policy.Request{}); d.Open != c.open {
			t.Errorf("%v: open %v, want %v", c.at, d.Open, c.open)
		}
	}
	up, err := newPolicy(t, cfg, at(2026, 12, 1, 12, 0), nil).Upcoming(context.Background(), 2)
	if err != nil || len(up) != 2 || !up[0].Close.Equal(at(2026, 12, 5, 0, 0)) || !up[1].Open.Equal(at(2026, 12, 18, 22, 0)) || !up[1].Close.Equal(at(2026, 12, 19, 2, 0)) {
		t.Errorf("upcoming %+v (%v)", up, err)
	}
}

func TestUpcomingAndReport(t *testing.T) {
	cfg := sop()
	cfg.Windows.Allow = append(cfg.Windows.Allow, "Mon 08:00-09:00")
	p := newPolicy(t, cfg, at(2026, 11, 27, 11, 0), nil)
	up, err := p.Upcoming(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Period{
		{Open: at(2026, 11, 30, 8, 0), Close: at(2026, 11, 30, 9, 0)},
		{Open: at(2026, 12, 1, 10, 0), Close: at(2026, 12, 1, 14, 0)},
		{Open: at(2026, 12, 2, 10, 0), Close: at(2026, 12, 2, 14, 0)},
		{Open: at(2026, 12, 3, 10, 0), Close: at(2026, 12, 3, 14, 0)},
	}
	if len(up) != len(want) {
		t.Fatalf("upcoming %+v", up)
	}
	for i := range want {
		if !up[i].Open.Equal(want[i].Open) || !up[i].Close.Equal(want[i].Close) {
			t.Errorf("period %d: %v - %v, want %v - %v", i, up[i].Open, up[i].Close, want[i].Open, want[i].Close)
		}
	}
	rep, err := p.Report(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	wantText := `production (Europe/Berlin), now Fri 2026-11-27 11:00 CET: closed
  allow      Tue-Thu 10:00-14:00
             Mon 08:00-09:00
  holidays   2026-12-24, 2026-12-25
  freezes    2026-12-20..2027-01-02  year-end
  emergency  allow
closed: outside the deployment windows Tue-Thu 10:00-14:00, Mon 08:00-09:00 (Europe/Berlin)
open periods:
  Mon 2026-11-30 08:00 CET - 09:00 CET (1h)
  Tue 2026-12-01 10:00 CET - 14:00 CET (4h)
`
	if b.String() != wantText {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), wantText)
	}
	b2, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"next_open":"2026-11-30T08:00:00+01:00"`, `"freezes":[{"from":"2026-12-20","to":"2027-01-02","reason":"year-end"}]`,
		`"upcoming":[{"open":"2026-11-30T08:00:00+01:00","close":"2026-11-30T09:00:00+01:00"}`, `"rule":"window"`} {
		if !strings.Contains(string(b2), want) {
			t.Errorf("report JSON lacks %s:\n%s", want, b2)
		}
	}
	// Around the freeze the periods skip to January.
	up, _ = newPolicy(t, sop(), at(2026, 12, 17, 15, 0), nil).Upcoming(context.Background(), 1)
	if len(up) != 1 || !up[0].Open.Equal(at(2027, 1, 5, 10, 0)) {
		t.Errorf("after 17 December: %+v", up)
	}
}

func TestNoRulesAlwaysOpen(t *testing.T) {
	p := newPolicy(t, policy.Environment{}, at(2026, 11, 28, 3, 0), nil)
	d, err := p.Check(context.Background(), policy.Request{})
	if err != nil || !d.Open {
		t.Fatalf("no rules: %v %+v", err, d)
	}
	up, err := p.Upcoming(context.Background(), 3)
	if err != nil || len(up) != 1 || !up[0].Close.IsZero() {
		t.Errorf("upcoming %+v (%v), want one period without end", up, err)
	}
}

func TestEmergency(t *testing.T) {
	friday := at(2026, 11, 27, 11, 0)
	q := policy.Request{Emergency: true, Reason: "checkout is down", Actor: "Ada <ada@example.com>"}
	d, err := check(t, sop(), friday, q)
	if err != nil || !d.Allowed() {
		t.Fatalf("emergency refused: %v", err)
	}
	e := d.Emergency
	if e == nil || e.Actor != q.Actor || e.Reason != q.Reason || !e.At.Equal(friday) {
		t.Fatalf("emergency %+v", e)
	}
	if got := strings.Join(e.Rules(), "; "); got != "window Tue-Thu 10:00-14:00" {
		t.Errorf("overridden %q", got)
	}
	// In the freeze, on a holiday: every overridden rule is told.
	d, err = check(t, sop(), at(2026, 12, 25, 11, 0), q)
	if err != nil || len(d.Emergency.Overridden) != 3 {
		t.Errorf("christmas emergency: %v, overridden %+v", err, d.Emergency)
	}
	// Inside a window nothing is overridden, but it stays an emergency.
	d, err = check(t, sop(), at(2026, 12, 1, 11, 0), q)
	if err != nil || d.Emergency == nil || len(d.Emergency.Overridden) != 0 {
		t.Errorf("emergency in a window: %v %+v", err, d.Emergency)
	}

	forbid := sop()
	forbid.Policy.Emergency = policy.EmergencyForbid
	d, err = check(t, forbid, friday, q)
	if fail.Code(err) != exitcode.Refused || d.Allowed() || d.Emergency != nil {
		t.Fatalf("forbidden emergency: code %d, %+v", fail.Code(err), d)
	}
	if !strings.Contains(err.Error(), "emergency deploys to production are forbidden (policy.emergency: forbid)") {
		t.Errorf("error %q", err)
	}
	if h := hints(err); !strings.Contains(h, "Tue 2026-12-01 10:00 CET") || strings.Contains(h, "--emergency --reason") {
		t.Errorf("forbidden hints %q: want the next window, no override", h)
	}
	// Without --emergency the forbid policy does not offer the override.
	_, err = check(t, forbid, friday, policy.Request{})
	if h := hints(err); strings.Contains(h, "--emergency") {
		t.Errorf("hints %q offer an override the policy forbids", h)
	}

	for _, bad := range []policy.Request{
		{Emergency: true, Actor: "ada"},
		{Emergency: true, Reason: "   ", Actor: "ada"},
		{Emergency: true, Reason: "down"},
	} {
		d, err := check(t, sop(), friday, bad)
		if fail.Code(err) != exitcode.Usage || d != nil {
			t.Errorf("%+v: code %d (%v), want a usage error", bad, fail.Code(err), err)
		}
	}
	if err := (policy.Request{Emergency: true, Actor: "ada"}).Validate(); err == nil || !strings.Contains(err.Error(), "--emergency needs a reason") {
		t.Errorf("validate: %v", err)
	}
}

func TestEnvClock(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	c, err := policy.EnvClock(getenv)
	if err != nil || time.Since(c()) > time.Minute {
		t.Errorf("unset: %v", err)
	}
	env["FERRY_NOW"] = "2026-11-27T11:00:00+01:00"
	c, err = policy.EnvClock(getenv)
	if err != nil || !c().Equal(at(2026, 11, 27, 11, 0)) {
		t.Errorf("fixed: %v %v", c, err)
	}
	env["FERRY_NOW"] = "friday"
	if _, err = policy.EnvClock(getenv); fail.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), `FERRY_NOW="friday" is not an RFC 3339 time`) {
		t.Errorf("bad: %v", err)
	}
}

func TestValidate(t *testing.T) {
	cfg := policy.Environment{
		Windows: policy.Windows{
			Allow:    []string{"Tue-Thu 10:00-14:00", "Funday 10:00-11:00", "Mon 10:00", "Mon 25:00-26:00", "Mon 10:00-10:00"},
			Holidays: []string{"2026-02-30", "christmas"},
		},
		Freezes: []policy.Freeze{
			{From: "2027-01-02", To: "2026-12-20", Reason: "year-end"},
			{From: "2026-12-20", To: "soon"},
		},
		ChangeCalendars: []string{"ProductionCalendar", "x", "ProductionCalendar"},
		Policy:          policy.Settings{Emergency: "sometimes"},
	}
	got := map[string]string{}
	for _, p := range policy.Validate(cfg) {
		got[p.Path] = p.Message
		if p.Hint == "" {
			t.Errorf("%s: no hint", p.Path)
		}
	}
	for path, want := range map[string]string{
		"windows.timezone":    "windows.timezone is required",
		"windows.allow[1]":    `"Funday" is not a day`,
		"windows.allow[2]":    "not a time range",
		"windows.allow[3]":    `"25:00" is not a time of day`,
		"windows.allow[4]":    "is empty",
		"windows.holidays[0]": "not a date",
		"windows.holidays[1]": "not a date",
		"freezes[0].to":       "before it starts",
		"freezes[1].to":       "not a date or an RFC 3339 time",
		"freezes[1].reason":   "needs a reason",
		"change_calendars[1]": "is not an SSM document name",
		"change_calendars[2]": "listed twice",
		"policy.emergency":    `"sometimes" must be allow or forbid`,
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: %q, want %q", path, got[path], want)
		}
		delete(got, path)
	}
	for path, msg := range got {
		t.Errorf("unexpected problem %s: %s", path, msg)
	}
	bad := policy.Environment{Windows: policy.Windows{Timezone: "Mars/Olympus", Allow: []string{"Mon"}}}
	if ps := policy.Validate(bad); len(ps) != 1 || !strings.Contains(ps[0].Message, "not a known time zone") {
		t.Errorf("unknown zone: %+v", ps)
	}
	_, err := policy.New("production", bad, policy.Options{})
	if fail.Code(err) != exitcode.Usage || !strings.Contains(err.Error(), "environments.production.windows.timezone") {
		t.Errorf("new: %v", err)
	}
	if ps := policy.Validate(sop()); ps != nil {
		t.Errorf("the SOP has problems: %+v", ps)
	}
	_, err = policy.New("production", policy.Environment{ChangeCalendars: []string{"ProductionCalendar"}}, policy.Options{})
	if err == nil {
		t.Errorf("change calendars without an SSM client accepted")
	}
}

// stubCalendars answers from a function, to count and to fail.
type stubCalendars func(name string, at time.Time) (policy.CalendarState, error)

func (s stubCalendars) CalendarState(_ context.Context, name string, at time.Time) (policy.CalendarState, error) {
	return s(name, at)
}

// A calendar that cannot be asked refuses (exit 1, not 6: nothing says the
// window is closed), and an emergency still deploys.
func TestCalendarUnknown(t *testing.T) {
	cfg := sop()
	cfg.ChangeCalendars = []string{"ProductionCalendar"}
	down := stubCalendars(func(string, time.Time) (policy.CalendarState, error) {
		return policy.CalendarState{}, errors.New("connection refused")
	})
	tue := at(2026, 12, 1, 11, 0)
	d, err := newPolicy(t, cfg, tue, down).Check(context.Background(), policy.Request{})
	if fail.Code(err) != exitcode.Failed || d.Allowed() {
		t.Fatalf("unknown calendar: code %d, %v", fail.Code(err), err)
	}
	if !strings.Contains(err.Error(), "the state of change calendar ProductionCalendar is unknown: connection refused") {
		t.Errorf("error %q", err)
	}
	d, err = newPolicy(t, cfg, tue, down).Check(context.Background(), policy.Request{Emergency: true, Reason: "outage", Actor: "ada"})
	if err != nil || d.Emergency == nil || len(d.Emergency.Overridden) != 1 || d.Emergency.Overridden[0].Rule != policy.RuleCalendar {
		t.Errorf("emergency over an unknown calendar: %v %+v", err, d)
	}
}
