// Package ssmcalendar answers policy's change-calendar questions with AWS
// Systems Manager's GetCalendarState. It is apart from package policy so
// that the config and record types there do not pull in the AWS SDK.
package ssmcalendar

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

	"github.com/ferryhq/ferry/internal/policy"
)

// GetCalendarStateAPI is the one SSM call New's calendars make; *ssm.Client
// implements it.
type GetCalendarStateAPI interface {
	GetCalendarState(ctx context.Context, in *ssm.GetCalendarStateInput, optFns ...func(*ssm.Options)) (*ssm.GetCalendarStateOutput, error)
}

// New asks GetCalendarState, one calendar per call: SSM would combine
// several into one state, but a refusal must say which calendar is closed.
func New(api GetCalendarStateAPI) policy.Calendars { return calendars{api} }

type calendars struct{ api GetCalendarStateAPI }

// CalendarState asks for the state at an explicit AtTime, so a rehearsal
// with FERRY_NOW sees the calendar as it will be then. AtTime has whole
// seconds: a fraction is rounded up, not cut, or the instant a closed
// period ends (the policy asks exactly then) would still be inside it and
// the calendar would seem never to open.
func (c calendars) CalendarState(ctx context.Context, name string, at time.Time) (policy.CalendarState, error) {
	if s := at.Truncate(time.Second); !s.Equal(at) {
		at = s.Add(time.Second)
	}
	out, err := c.api.GetCalendarState(ctx, &ssm.GetCalendarStateInput{
		CalendarNames: []string{name},
		AtTime:        aws.String(at.UTC().Format(time.RFC3339)),
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "InvalidDocument" || ae.ErrorCode() == "InvalidDocumentType" || ae.ErrorCode() == "UnsupportedCalendarException") {
			return policy.CalendarState{}, fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
		}
		return policy.CalendarState{}, err
	}
	var st policy.CalendarState
	switch out.State {
	case types.CalendarStateOpen:
		st.Open = true
	case types.CalendarStateClosed:
	default:
		return policy.CalendarState{}, fmt.Errorf("GetCalendarState answered state %q, neither OPEN nor CLOSED", out.State)
	}
	if s := aws.ToString(out.NextTransitionTime); s != "" {
		t, err := parseISO8601(s)
		if err != nil {
			return policy.CalendarState{}, fmt.Errorf("GetCalendarState answered NextTransitionTime %q: %w", s, err)
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
