package ssmemu

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"
)

// CalendarState is a Change Calendar's state: OPEN or CLOSED.
type CalendarState string

// The two states GetCalendarState answers.
const (
	CalendarOpen   CalendarState = "OPEN"
	CalendarClosed CalendarState = "CLOSED"
)

// Calendar is a Change Calendar document as GetCalendarState sees it: a
// default state (the document's DEFAULT_OPEN or DEFAULT_CLOSED type) and
// events during which the state is the other one.
type Calendar struct {
	Default CalendarState
	Events  []CalendarEvent
}

// CalendarEvent flips a calendar's state from Start (included) to End
// (excluded).
type CalendarEvent struct {
	Start, End time.Time
}

// SetCalendar creates or replaces the calendar document name (a name or
// an ARN; an ARN answers for the name after "document/" too).
func (e *Emulator) SetCalendar(name string, c Calendar) {
	t := e.calendarTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Events = slices.Clone(c.Events)
	t.m[calendarKey(name)] = c
}

// SetCalendarState makes the calendar name simply OPEN or CLOSED, with no
// transition ahead.
func (e *Emulator) SetCalendarState(name string, s CalendarState) {
	e.SetCalendar(name, Calendar{Default: s})
}

// RemoveCalendar deletes the calendar document name.
func (e *Emulator) RemoveCalendar(name string) {
	t := e.calendarTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, calendarKey(name))
}

// The calendars live beside the Emulator, not in it, so this operation
// stays one file; the table is keyed weakly and dropped with its emulator.
type calendarTable struct {
	mu sync.Mutex
	m  map[string]Calendar
}

var calendarTables sync.Map // weak.Pointer[Emulator] -> *calendarTable

func (e *Emulator) calendarTable() *calendarTable {
	key := weak.Make(e)
	if t, ok := calendarTables.Load(key); ok {
		return t.(*calendarTable)
	}
	t, loaded := calendarTables.LoadOrStore(key, &calendarTable{m: map[string]Calendar{}})
	if !loaded {
		runtime.AddCleanup(e, func(k weak.Pointer[Emulator]) { calendarTables.Delete(k) }, key)
	}
	return t.(*calendarTable)
}

// calendarKey makes a document ARN and its name the same calendar.
func calendarKey(name string) string {
	if i := strings.LastIndex(name, ":document/"); i >= 0 && strings.HasPrefix(name, "arn:") {
		return name[i+len(":document/"):]
	}
	return name
}

// at returns the state at t and the next instant it changes (zero: never).
func (c Calendar) at(t time.Time) (CalendarState, time.Time) {
	state := c.stateAt(t)
	var bounds []time.Time
	for _, ev := range c.Events {
		for _, b := range []time.Time{ev.Start, ev.End} {
			if b.After(t) {
				bounds = append(bounds, b)
			}
		}
	}
	slices.SortFunc(bounds, time.Time.Compare)
	// Overlapping or touching events: the next transition is the first
	// bound at which the state really changes.
	for _, b := range bounds {
		if c.stateAt(b) != state {
			return state, b
		}
	}
	return state, time.Time{}
}

// stateAt is the default state, or the other one inside any event.
func (c Calendar) stateAt(t time.Time) CalendarState {
	for _, ev := range c.Events {
		if !t.Before(ev.Start) && t.Before(ev.End) {
			if c.Default == CalendarClosed {
				return CalendarOpen
			}
			return CalendarClosed
		}
	}
	return c.Default
}

type getCalendarStateInput struct {
	CalendarNames []string
	AtTime        *string
}

// getCalendarState follows botocore's GetCalendarState: CalendarNames is
// required; OPEN only when every calendar is open. The next transition of
// several calendars is the earliest among them (inferred: the combined
// state can first change then). Unknown documents are InvalidDocument.
// Times are answered as RFC 3339 UTC seconds, as in the User Guide's
// example ("2020-07-31T00:00:00Z"), a transition rounded up to its second.
func (e *Emulator) getCalendarState(body []byte, _ *Call) (any, error) {
	var in getCalendarStateInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	v.required(nil, in.CalendarNames == nil, "calendarNames")
	if err := v.err(); err != nil {
		return nil, err
	}
	at := time.Now()
	if in.AtTime != nil && *in.AtTime != "" {
		t, ok := parseCalendarTime(*in.AtTime)
		if !ok {
			// Inferred: the model says only "ISO 8601"; the service's exact
			// message for a bad time is not documented.
			return nil, validationErr("AtTime %q is not a valid ISO 8601 time", *in.AtTime)
		}
		at = t
	}
	if len(in.CalendarNames) == 0 {
		return nil, clientErr("InvalidDocument", "no calendar names were given")
	}
	t := e.calendarTable()
	t.mu.Lock()
	defer t.mu.Unlock()
	state := CalendarOpen
	var next time.Time
	for _, name := range in.CalendarNames {
		c, ok := t.m[calendarKey(name)]
		if !ok {
			return nil, clientErr("InvalidDocument", "calendar document %s does not exist", name)
		}
		s, n := c.at(at)
		if s == CalendarClosed {
			state = CalendarClosed
		}
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	out := struct {
		State              CalendarState `json:"State"`
		AtTime             string        `json:"AtTime"`
		NextTransitionTime string        `json:"NextTransitionTime,omitempty"`
	}{State: state, AtTime: at.UTC().Format(time.RFC3339)}
	if !next.IsZero() {
		// Whole seconds, rounded up: a transition cut down to its second
		// would be an instant at which the calendar has not changed yet.
		if s := next.Truncate(time.Second); !s.Equal(next) {
			next = s.Add(time.Second)
		}
		out.NextTransitionTime = next.UTC().Format(time.RFC3339)
	}
	return out, nil
}

// parseCalendarTime accepts RFC 3339 and the colon-less offsets of the
// User Guide's example (2020-07-30T11:05:14-0700).
func parseCalendarTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
