package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	// Windows machines and slim containers have no zoneinfo of their own;
	// ferry must read Europe/Berlin the same everywhere it runs.
	_ "time/tzdata"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// Options are what a Policy needs besides its rules.
type Options struct {
	// Clock is when "now" is; nil means time.Now. The CLI passes
	// EnvClock(getenv), so FERRY_NOW fixes it.
	Clock Clock
	// Calendars answers for change_calendars; required when the
	// environment lists any (ssmcalendar.New(ssmClient)).
	Calendars Calendars
}

// Policy is one environment's rules, compiled, with its clock.
type Policy struct {
	env  string
	r    *rules
	now  Clock
	cals Calendars
}

// New compiles an environment's policy. Mistakes in cfg come back as one
// usage error listing each (Validate gives them with their key paths).
func New(env string, cfg Environment, opts Options) (*Policy, error) {
	r, ps := compile(cfg)
	if len(ps) > 0 {
		errs := make([]error, len(ps))
		for i, p := range ps {
			errs[i] = fail.Usage(fmt.Errorf("environments.%s.%s: %s", env, p.Path, p.Message), p.Hint)
		}
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, fail.Usage(errors.Join(errs...))
	}
	if len(r.calendars) > 0 && opts.Calendars == nil {
		return nil, fmt.Errorf("environment %s lists change calendars but no SSM client was given to ask them", env)
	}
	now := opts.Clock
	if now == nil {
		now = time.Now
	}
	return &Policy{env: env, r: r, now: now, cals: opts.Calendars}, nil
}

// Request is what the deployer asked for.
type Request struct {
	// Emergency is --emergency: deploy even when a rule refuses.
	Emergency bool
	// Reason is --reason, required with Emergency.
	Reason string
	// Actor is who takes responsibility (the deployer ferry records).
	Actor string
}

// Validate checks the flags before anything runs: an emergency needs a
// reason and someone who takes responsibility.
func (q Request) Validate() error {
	if !q.Emergency {
		return nil
	}
	if strings.TrimSpace(q.Reason) == "" {
		return fail.Usage(errors.New("--emergency needs a reason"),
			`say why it cannot wait for the next window: --emergency --reason "checkout fails for every customer"`)
	}
	if strings.TrimSpace(q.Actor) == "" {
		return fail.Usage(errors.New("--emergency needs to know who takes responsibility, and no deployer is known"),
			"set git's user.name and user.email: ferry records them as the deployer")
	}
	return nil
}

// Refusal is one rule that refuses a deploy at an instant.
type Refusal struct {
	// Rule is the kind: window, holiday, freeze or calendar.
	Rule string `json:"rule"`
	// Name is the rule as written: the allow ranges, the holiday's date,
	// the freeze's reason, the calendar's name.
	Name string `json:"name"`
	// Detail is the sentence a person reads.
	Detail string `json:"detail"`
}

func (r Refusal) String() string { return r.Rule + " " + r.Name }

// Kinds of Refusal.
const (
	RuleWindow   = "window"
	RuleHoliday  = "holiday"
	RuleFreeze   = "freeze"
	RuleCalendar = "calendar"
)

// Emergency is an emergency deploy as the record and the notifications
// tell it.
type Emergency struct {
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Overridden are the rules that would have refused; empty when the
	// deploy fell inside a window anyway.
	Overridden []Refusal `json:"overridden,omitempty"`
}

// Rules lists the overridden rules as "window Tue-Thu 10:00-14:00",
// "freeze year-end", for a message.
func (e *Emergency) Rules() []string {
	var out []string
	for _, r := range e.Overridden {
		out = append(out, r.String())
	}
	return out
}

// Decision is the policy's answer for one deploy.
type Decision struct {
	Environment string    `json:"environment"`
	At          time.Time `json:"at"`
	Timezone    string    `json:"timezone"`
	// Open means every rule allows a deploy At.
	Open bool `json:"open"`
	// Refusals are the rules that refuse At, when not Open.
	Refusals []Refusal `json:"refusals,omitempty"`
	// NextOpen is the next instant every rule allows, when not Open;
	// zero when none was found within two years (or it could not be asked).
	NextOpen time.Time `json:"next_open,omitzero"`
	// Emergency is set for an emergency deploy that the policy allows.
	Emergency *Emergency `json:"emergency,omitempty"`
	// EmergencyPolicy is the environment's policy.emergency: allow or forbid.
	EmergencyPolicy string `json:"emergency_policy"`

	loc       *time.Location
	forbidden bool  // --emergency where policy.emergency is forbid
	unknown   error // a calendar could not be asked
	nextErr   error // NextOpen could not be computed
}

// Allowed reports whether the deploy may go on.
func (d *Decision) Allowed() bool { return d.Err() == nil }

// Err is nil when the deploy may go on; else a *fail.Error: exit 6 when
// a rule refuses, naming it and when the next window opens; exit 1 when a
// change calendar could not be asked.
func (d *Decision) Err() error {
	when := FormatTime(d.At, d.loc)
	if d.forbidden {
		return fail.New(exitcode.Refused,
			fmt.Errorf("emergency deploys to %s are forbidden (policy.emergency: forbid)", d.Environment),
			d.nextHint(false, "deploy without --emergency"))
	}
	if d.Open || d.Emergency != nil {
		return nil
	}
	details := make([]string, len(d.Refusals))
	for i, r := range d.Refusals {
		details[i] = r.Detail
	}
	err := fmt.Errorf("deploy to %s refused at %s: %s", d.Environment, when, strings.Join(details, "; "))
	if d.unknown != nil {
		return fail.New(exitcode.Failed, err,
			"check the AWS credentials and region, and that the calendar document exists and is shared with this account",
			d.emergencyHint())
	}
	return fail.New(exitcode.Refused, err, d.nextHint(true, ""))
}

func (d *Decision) emergencyHint() string {
	if d.EmergencyPolicy == EmergencyForbid {
		return ""
	}
	return `if it cannot wait: ferry deploy --emergency --reason "why"`
}

// nextHint names the next window; withEmergency offers the override
// where the policy allows it.
func (d *Decision) nextHint(withEmergency bool, instead string) string {
	var s string
	switch {
	case d.Open:
		return instead + ": the deploy is inside a window now"
	case !d.NextOpen.IsZero():
		s = "deploy in the next window (" + FormatTime(d.NextOpen, d.loc) + ")"
	case d.nextErr != nil:
		s = "the next window could not be computed (" + d.nextErr.Error() + "); try again later"
	default:
		s = "no window opens in the next two years: check windows.allow, holidays, freezes and the change calendars"
	}
	if withEmergency && d.EmergencyPolicy != EmergencyForbid {
		s += `, or with --emergency --reason "why"`
	}
	return s
}

// Check decides whether a deploy may start now. The Decision is always
// returned, for the record; the error is Decision.Err() (or a usage error
// for a bad Request, with a nil Decision).
func (p *Policy) Check(ctx context.Context, q Request) (*Decision, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	now := inZone(p.now().Truncate(0), p.r.loc)
	d := &Decision{Environment: p.env, At: now, Timezone: p.r.zone, EmergencyPolicy: p.r.emergency, loc: p.r.loc}
	d.Refusals, d.unknown = p.refusals(ctx, now)
	d.Open = len(d.Refusals) == 0
	if !d.Open && d.unknown == nil {
		d.NextOpen, d.nextErr = p.nextOpen(ctx, now)
		d.NextOpen = inZone(d.NextOpen, p.r.loc)
	}
	if q.Emergency {
		if p.r.emergency == EmergencyForbid {
			d.forbidden = true
		} else {
			d.Emergency = &Emergency{Actor: strings.TrimSpace(q.Actor), Reason: strings.TrimSpace(q.Reason), At: now, Overridden: d.Refusals}
		}
	}
	return d, d.Err()
}

// refusals lists every rule that refuses at t. A calendar that cannot be
// asked refuses too (fail closed), and its error is returned beside.
func (p *Policy) refusals(ctx context.Context, t time.Time) ([]Refusal, error) {
	var out []Refusal
	r := p.r
	if !r.windowOpen(t) {
		names := make([]string, len(r.allow))
		for i, a := range r.allow {
			names[i] = a.text
		}
		joined := strings.Join(names, ", ")
		out = append(out, Refusal{Rule: RuleWindow, Name: joined,
			Detail: fmt.Sprintf("outside the deployment windows %s (%s)", joined, r.zone)})
	}
	if h := r.holidayAt(t); h != nil {
		out = append(out, Refusal{Rule: RuleHoliday, Name: h.text,
			Detail: fmt.Sprintf("%s is a holiday", t.In(r.loc).Format("Mon 2006-01-02"))})
	}
	if f := r.freezeAt(t); f != nil {
		out = append(out, Refusal{Rule: RuleFreeze, Name: f.reason,
			Detail: fmt.Sprintf("inside the freeze %s (%s)", f.text, f.reason)})
	}
	var unknown error
	for _, name := range r.calendars {
		st, err := p.cals.CalendarState(ctx, name, t)
		switch {
		case err != nil:
			unknown = errors.Join(unknown, err)
			out = append(out, Refusal{Rule: RuleCalendar, Name: name,
				Detail: fmt.Sprintf("the state of change calendar %s is unknown: %v", name, err)})
		case !st.Open:
			detail := fmt.Sprintf("change calendar %s is CLOSED", name)
			if !st.Next.IsZero() {
				detail += " until " + FormatTime(st.Next, r.loc)
			}
			out = append(out, Refusal{Rule: RuleCalendar, Name: name, Detail: detail})
		}
	}
	return out, unknown
}

// maxCalendarRounds bounds the back-and-forth between the local rules and
// the calendars when looking for the next opening.
const maxCalendarRounds = 25

// nextOpen is the first instant at or after t that the local rules allow
// and every calendar finds OPEN. Zero when there is none within the
// horizon (or the calendars never open).
func (p *Policy) nextOpen(ctx context.Context, t time.Time) (time.Time, error) {
	for range maxCalendarRounds {
		c, ok := p.r.next(t, true)
		if !ok {
			return time.Time{}, nil
		}
		jump, err := p.calendarsClosedUntil(ctx, c)
		if err != nil {
			return time.Time{}, err
		}
		if jump.IsZero() {
			return c, nil
		}
		if jump.Equal(farFuture) {
			return time.Time{}, nil
		}
		// Each closed calendar stays closed until its own transition, so
		// nothing is open before the latest of them.
		t = jump
	}
	return time.Time{}, fmt.Errorf("the change calendars and the windows did not meet within %d tries", maxCalendarRounds)
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// calendarsClosedUntil is zero when every calendar is open at t; else the
// latest transition among the closed ones (farFuture when one names none).
func (p *Policy) calendarsClosedUntil(ctx context.Context, t time.Time) (time.Time, error) {
	var until time.Time
	for _, name := range p.r.calendars {
		st, err := p.cals.CalendarState(ctx, name, t)
		if err != nil {
			return time.Time{}, fmt.Errorf("change calendar %s: %w", name, err)
		}
		if st.Open {
			continue
		}
		next := st.Next
		if next.IsZero() || !next.After(t) {
			next = farFuture
		}
		if next.After(until) {
			until = next
		}
	}
	return until, nil
}

// inZone shows t in loc (instants are equal either way; JSON and people
// read local times more easily); the zero time stays zero.
func inZone(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

// FormatTime is how policy messages show an instant: in the rules' zone,
// "Tue 2026-12-01 10:00 CET".
func FormatTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
}
