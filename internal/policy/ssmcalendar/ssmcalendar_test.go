package ssmcalendar

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The SDK and the emulator are driven in package policy's tests; these
// are the answers the emulator never gives.

type stub struct {
	in  *ssm.GetCalendarStateInput
	out *ssm.GetCalendarStateOutput
}

func (s *stub) GetCalendarState(_ context.Context, in *ssm.GetCalendarStateInput, _ ...func(*ssm.Options)) (*ssm.GetCalendarStateOutput, error) {
	s.in = in
	return s.out, nil
}

func TestAnswers(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	s := &stub{out: &ssm.GetCalendarStateOutput{State: types.CalendarStateClosed, NextTransitionTime: aws.String("2026-12-01T13:05:14+0100")}}
	st, err := New(s).CalendarState(context.Background(), "ProductionCalendar", at)
	if err != nil || st.Open || !st.Next.Equal(time.Date(2026, 12, 1, 12, 5, 14, 0, time.UTC)) {
		t.Errorf("state %+v, %v", st, err)
	}
	if got := aws.ToString(s.in.AtTime); got != "2026-12-01T09:30:00Z" || len(s.in.CalendarNames) != 1 {
		t.Errorf("asked %q for %v", got, s.in.CalendarNames)
	}
	// A fraction of a second is rounded up: the end of a closed period,
	// asked exactly, is after it.
	if _, err := New(s).CalendarState(context.Background(), "c", at.Add(300*time.Millisecond)); err != nil || aws.ToString(s.in.AtTime) != "2026-12-01T09:30:01Z" {
		t.Errorf("asked %q for 09:30:00.3Z (%v)", aws.ToString(s.in.AtTime), err)
	}
	s.out = &ssm.GetCalendarStateOutput{State: "AJAR"}
	if _, err := New(s).CalendarState(context.Background(), "c", at); err == nil || !strings.Contains(err.Error(), `"AJAR"`) {
		t.Errorf("unknown state: %v", err)
	}
	s.out = &ssm.GetCalendarStateOutput{State: types.CalendarStateOpen, NextTransitionTime: aws.String("soon")}
	if _, err := New(s).CalendarState(context.Background(), "c", at); err == nil {
		t.Errorf("a bad NextTransitionTime was accepted")
	}
}
