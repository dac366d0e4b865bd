package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
)

// EnvNow names the variable that fixes the clock policy is evaluated on,
// for tests and rehearsals: FERRY_NOW=2026-11-27T11:00:00+01:00.
const EnvNow = "FERRY_NOW"

// Clock returns the instant rules are evaluated at: the runner's clock,
// not the servers'.
type Clock func() time.Time

// EnvClock returns a clock fixed at $FERRY_NOW when it is set, else
// time.Now. A value that is not RFC 3339 is a usage error: a rehearsal
// silently run on the real clock would prove nothing.
func EnvClock(getenv func(string) string) (Clock, error) {
	v := strings.TrimSpace(getenv(EnvNow))
	if v == "" {
		return time.Now, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fail.Usage(fmt.Errorf("%s=%q is not an RFC 3339 time", EnvNow, v),
			"write it like 2026-11-27T11:00:00+01:00 or 2026-11-27T10:00:00Z, or unset it to use the real clock")
	}
	return func() time.Time { return t }, nil
}

// Fixed is a clock that always answers t.
func Fixed(t time.Time) Clock { return func() time.Time { return t } }
