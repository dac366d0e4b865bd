package policy

import (
	"context"
	"time"
)

// Calendars answers for change calendars: whether one is open at an
// instant and when that changes. ssmcalendar.New is the real one, asking
// AWS Systems Manager; tests may pass their own.
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
