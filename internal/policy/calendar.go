package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// Calendars answers for change calendars: whether one is open at an
// instant and when that changes. SSMCalendars is the real one; tests may
// pass their own.
type Calendars interface {
	CalendarState(ctx context.Context, name string, at time.Time) (CalendarState, error)
}

// CalendarState is one calendar at one instant.
type CalendarState struct {
	Open bool
	// Next is when the state changes (to CLOSED when open, to OPEN when
	// closed); zero when the calendar names no later transition.
	Next time.Time
}

// GetCalendarStateAPI is the one SSM call SSMCalendars makes; *ssm.Client
// implements it.
type GetCalendarStateAPI interface {
	GetCalendarState(ctx context.Context, in *ssm.GetCalendarStateInput, optFns ...func(*ssm.Options)) (*ssm.GetCalendarStateOutput, error)
}

// SSMCalendars asks AWS Systems Manager's GetCalendarState, one calendar
// per call: SSM would combine several into one state, but a refusal must
// say which calendar is closed.
func SSMCalendars(api GetCalendarStateAPI) Calendars { return ssmCalendars{api} }

type ssmCalendars struct{ api GetCalendarStateAPI }

// CalendarState asks for the state at an explicit AtTime, so a rehearsal
// with FERRY_NOW sees the calendar as it will be then.
func (c ssmCalendars) CalendarState(ctx context.Context, name string, at time.Time) (CalendarState, error) {
	out, err := c.api.GetCalendarState(ctx, &ssm.GetCalendarStateInput{
		CalendarNames: []string{name},
		AtTime:        aws.String(at.UTC().Format(time.RFC3339)),
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "InvalidDocument" || ae.ErrorCode() == "InvalidDocumentType" || ae.ErrorCode() == "UnsupportedCalendarException") {
			return CalendarState{}, fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
		}
		return CalendarState{}, err
	}
	var st CalendarState
	switch out.State {
	case types.CalendarStateOpen:
		st.Open = true
	case types.CalendarStateClosed:
	default:
		return CalendarState{}, fmt.Errorf("GetCalendarState answered state %q, neither OPEN nor CLOSED", out.State)
	}
	if s := aws.ToString(out.NextTransitionTime); s != "" {
		t, err := parseISO8601(s)
		if err != nil {
			return CalendarState{}, fmt.Errorf("GetCalendarState answered NextTransitionTime %q: %w", s, err)
		}
		st.Next = t
	}
	return st, nil
}

// parseISO8601 reads the forms SSM's documentation shows: RFC 3339
// (2020-07-31T00:00:00Z) and offsets without a colon (2020-07-30T11:05:14-0700).
func parseISO8601(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 time")
}
