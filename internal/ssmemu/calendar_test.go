package ssmemu_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// GetCalendarState through the SDK: states at explicit times, the next
// transition, several calendars combined, ARNs, and the errors.
func TestGetCalendarState(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	day := func(d, h int) time.Time { return time.Date(2026, 12, d, h, 0, 0, 0, time.UTC) }
	f.emu.SetCalendar("ProductionCalendar", ssmemu.Calendar{
		Default: ssmemu.CalendarOpen,
		Events:  []ssmemu.CalendarEvent{{Start: day(20, 0), End: day(28, 0)}, {Start: day(27, 0), End: day(29, 6)}},
	})
	f.emu.SetCalendarState("AlwaysClosed", ssmemu.CalendarClosed)
	// An event that ends within a second (a test's time.Now()+1h).
	f.emu.SetCalendar("Fractional", ssmemu.Calendar{
		Default: ssmemu.CalendarOpen,
		Events:  []ssmemu.CalendarEvent{{Start: day(2, 0), End: day(2, 1).Add(400 * time.Millisecond)}},
	})
	f.emu.SetCalendar("BusinessHours", ssmemu.Calendar{
		Default: ssmemu.CalendarClosed,
		Events:  []ssmemu.CalendarEvent{{Start: day(1, 8), End: day(1, 18)}},
	})

	get := func(at string, names ...string) *ssm.GetCalendarStateOutput {
		t.Helper()
		in := &ssm.GetCalendarStateInput{CalendarNames: names}
		if at != "" {
			in.AtTime = aws.String(at)
		}
		out, err := f.ssm.GetCalendarState(ctx(t), in)
		if err != nil {
			t.Fatalf("get calendar state %v at %s: %v", names, at, err)
		}
		return out
	}
	cases := []struct {
		at    string
		names []string
		state types.CalendarState
		next  string
	}{
		{"2026-12-19T12:00:00Z", []string{"ProductionCalendar"}, types.CalendarStateOpen, "2026-12-20T00:00:00Z"},
		// Inside overlapping events: closed until the later one ends.
		{"2026-12-21T00:00:00Z", []string{"ProductionCalendar"}, types.CalendarStateClosed, "2026-12-29T06:00:00Z"},
		// The end is excluded; after the last event there is no transition.
		{"2026-12-29T06:00:00Z", []string{"ProductionCalendar"}, types.CalendarStateOpen, ""},
		// The documented colon-less offset form.
		{"2026-12-01T09:00:00+0100", []string{"BusinessHours"}, types.CalendarStateOpen, "2026-12-01T18:00:00Z"},
		// An ARN names the same document.
		{"2026-12-01T07:59:59Z", []string{"arn:aws:ssm:us-east-1:123456789012:document/BusinessHours"}, types.CalendarStateClosed, "2026-12-01T08:00:00Z"},
		// OPEN only when every calendar is open; the earliest transition.
		{"2026-12-01T09:00:00Z", []string{"BusinessHours", "ProductionCalendar"}, types.CalendarStateOpen, "2026-12-01T18:00:00Z"},
		{"2026-12-01T09:00:00Z", []string{"BusinessHours", "AlwaysClosed"}, types.CalendarStateClosed, "2026-12-01T18:00:00Z"},
		// A transition inside a second is rounded up, to an instant at
		// which the state has changed.
		{"2026-12-02T00:30:00Z", []string{"Fractional"}, types.CalendarStateClosed, "2026-12-02T01:00:01Z"},
		{"2026-12-02T01:00:01Z", []string{"Fractional"}, types.CalendarStateOpen, ""},
	}
	for _, c := range cases {
		out := get(c.at, c.names...)
		if out.State != c.state || aws.ToString(out.NextTransitionTime) != c.next {
			t.Errorf("%v at %s: state %s next %q, want %s next %q", c.names, c.at, out.State, aws.ToString(out.NextTransitionTime), c.state, c.next)
		}
	}
	if out := get("2026-12-01T09:00:00+01:00", "BusinessHours"); aws.ToString(out.AtTime) != "2026-12-01T08:00:00Z" {
		t.Errorf("AtTime = %q, want the asked time in UTC", aws.ToString(out.AtTime))
	}
	// Without AtTime the emulator's clock is used.
	before := time.Now().Add(-time.Second)
	out := get("", "AlwaysClosed")
	at, err := time.Parse(time.RFC3339, aws.ToString(out.AtTime))
	if err != nil || at.Before(before.Truncate(time.Second)) || out.State != types.CalendarStateClosed || out.NextTransitionTime != nil {
		t.Errorf("now: AtTime %q (%v), state %s, next %v", aws.ToString(out.AtTime), err, out.State, out.NextTransitionTime)
	}

	f.emu.RemoveCalendar("AlwaysClosed")
	for _, bad := range []struct {
		in   *ssm.GetCalendarStateInput
		code string
	}{
		{&ssm.GetCalendarStateInput{CalendarNames: []string{"AlwaysClosed"}}, "InvalidDocument"},
		{&ssm.GetCalendarStateInput{CalendarNames: []string{"ProductionCalendar"}, AtTime: aws.String("next tuesday")}, "ValidationException"},
	} {
		_, err := f.ssm.GetCalendarState(ctx(t), bad.in)
		if code := errorCode(err); code != bad.code {
			t.Errorf("%+v: error %v (code %q), want %s", bad.in, err, code, bad.code)
		}
	}
	// The SDK refuses a request without CalendarNames before sending it;
	// the service's own check, as another client would meet it:
	status, body := rawCall(t, f.srv.URL, "GetCalendarState", `{}`, true)
	if msg, _ := body["Message"].(string); status != 400 || body["__type"] != "ValidationException" ||
		msg != "1 validation error detected: Value 'null' at 'calendarNames' failed to satisfy constraint: Member must not be null" {
		t.Errorf("no CalendarNames: HTTP %d %v", status, body)
	}
}
