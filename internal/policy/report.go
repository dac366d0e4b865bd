package policy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Period is one stretch of time in which every rule allows deploys.
type Period struct {
	Open time.Time `json:"open"`
	// Close is when it ends (excluded); zero when no end is known.
	Close time.Time `json:"close,omitzero"`
}

// Location is the zone the rules are read in (UTC when none is set), for
// showing times to people.
func (p *Policy) Location() *time.Location { return p.r.loc }

// Upcoming returns the next n periods open for deploys, the first one
// possibly already running now.
func (p *Policy) Upcoming(ctx context.Context, n int) ([]Period, error) {
	var out []Period
	t := p.now().Truncate(0)
	for len(out) < n {
		open, err := p.nextOpen(ctx, t)
		if err != nil {
			return out, err
		}
		if open.IsZero() {
			break
		}
		closeAt, err := p.nextClose(ctx, open)
		if err != nil {
			return out, err
		}
		out = append(out, Period{Open: inZone(open, p.r.loc), Close: inZone(closeAt, p.r.loc)})
		if closeAt.IsZero() {
			break
		}
		t = closeAt
	}
	return out, nil
}

// nextClose is when a period open at t ends: the local rules closing, or
// the first calendar turning CLOSED, whichever comes first.
func (p *Policy) nextClose(ctx context.Context, t time.Time) (time.Time, error) {
	closeAt, ok := p.r.next(t, false)
	if !ok {
		closeAt = time.Time{}
	}
	for _, name := range p.r.calendars {
		st, err := p.cals.CalendarState(ctx, name, t)
		if err != nil {
			return time.Time{}, fmt.Errorf("change calendar %s: %w", name, err)
		}
		if st.Open && !st.Next.IsZero() && st.Next.After(t) && (closeAt.IsZero() || st.Next.Before(closeAt)) {
			closeAt = st.Next
		}
	}
	return closeAt, nil
}

// Report is what `ferry windows ENV` shows: the rules as written, the
// state now and the next open periods.
type Report struct {
	Environment string    `json:"environment"`
	Timezone    string    `json:"timezone"`
	Now         time.Time `json:"now"`
	Allow       []string  `json:"allow,omitempty"`
	Holidays    []string  `json:"holidays,omitempty"`
	Freezes     []Freeze  `json:"freezes,omitempty"`
	Calendars   []string  `json:"change_calendars,omitempty"`
	Emergency   string    `json:"emergency"`
	// Decision is the answer for a deploy now (without --emergency).
	Decision *Decision `json:"decision"`
	Upcoming []Period  `json:"upcoming"`

	loc *time.Location
}

// Report gathers the rules, the decision now and the next n open periods.
func (p *Policy) Report(ctx context.Context, n int) (*Report, error) {
	d, _ := p.Check(ctx, Request{})
	rep := &Report{Environment: p.env, Timezone: p.r.zone, Now: d.At, Emergency: p.r.emergency,
		Calendars: p.r.calendars, Decision: d, loc: p.r.loc}
	for _, a := range p.r.allow {
		rep.Allow = append(rep.Allow, a.text)
	}
	for _, h := range p.r.holidays {
		rep.Holidays = append(rep.Holidays, h.text)
	}
	for _, f := range p.r.freezes {
		from, to, _ := strings.Cut(f.text, "..")
		rep.Freezes = append(rep.Freezes, Freeze{From: from, To: to, Reason: f.reason})
	}
	up, err := p.Upcoming(ctx, n)
	rep.Upcoming = up
	return rep, err
}

// WriteText prints the report for a person.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	state := "open"
	if !r.Decision.Open {
		state = "closed"
	}
	fmt.Fprintf(&b, "%s (%s), now %s: %s\n", r.Environment, r.Timezone, FormatTime(r.Now, r.loc), state)
	row := func(key string, vals []string) {
		if len(vals) == 0 {
			return
		}
		fmt.Fprintf(&b, "  %-10s %s\n", key, vals[0])
		for _, v := range vals[1:] {
			fmt.Fprintf(&b, "  %-10s %s\n", "", v)
		}
	}
	allow := r.Allow
	if len(allow) == 0 {
		allow = []string{"any time"}
	}
	row("allow", allow)
	if len(r.Holidays) > 0 {
		row("holidays", []string{strings.Join(r.Holidays, ", ")})
	}
	var fr []string
	for _, f := range r.Freezes {
		fr = append(fr, fmt.Sprintf("%s..%s  %s", f.From, f.To, f.Reason))
	}
	row("freezes", fr)
	row("calendars", r.Calendars)
	row("emergency", []string{r.Emergency})
	for _, ref := range r.Decision.Refusals {
		fmt.Fprintf(&b, "closed: %s\n", ref.Detail)
	}
	if len(r.Upcoming) == 0 {
		b.WriteString("no open period in the next two years\n")
	} else {
		b.WriteString("open periods:\n")
		for _, p := range r.Upcoming {
			fmt.Fprintf(&b, "  %s\n", FormatPeriod(p, r.loc))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatPeriod shows a period as "Tue 2026-12-01 10:00 CET - 14:00 CET (4h)";
// the end keeps its date when it falls on another day.
func FormatPeriod(p Period, loc *time.Location) string {
	s := FormatTime(p.Open, loc)
	if p.Close.IsZero() {
		return s + " - (no end)"
	}
	end := p.Close.In(loc).Format("15:04 MST")
	if !dateOf(p.Close, loc).Equal(dateOf(p.Open, loc)) {
		end = FormatTime(p.Close, loc)
	}
	return fmt.Sprintf("%s - %s (%s)", s, end, shortDuration(p.Close.Sub(p.Open)))
}

func shortDuration(d time.Duration) string {
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
