package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// allowRule is one entry of windows.allow: the days it starts on and a
// range of local wall-clock minutes, start included, end excluded.
// end <= start is an overnight window that ends on the next day.
type allowRule struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes since local midnight; end may be 1440 (24:00)
	text       string
}

const dayMinutes = 24 * 60

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// parseAllow reads "DAYS [HH:MM-HH:MM]". DAYS is a comma-separated list
// of days or day ranges (Tue-Thu; Fri-Mon wraps over the weekend).
// Without hours the window is the whole day.
func parseAllow(s string) (allowRule, error) {
	r := allowRule{text: strings.Join(strings.Fields(s), " ")}
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return r, fmt.Errorf("expected days and an optional time range")
	}
	for _, part := range strings.Split(f[0], ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.ToLower(from)]
		if !ok {
			return r, fmt.Errorf("%q is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", from)
		}
		b := a
		if isRange {
			if b, ok = dayNames[strings.ToLower(to)]; !ok {
				return r, fmt.Errorf("%q is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", to)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			r.days[d] = true
			if d == b {
				break
			}
		}
	}
	if len(f) == 1 {
		r.start, r.end = 0, dayMinutes
		return r, nil
	}
	from, to, ok := strings.Cut(f[1], "-")
	if !ok {
		return r, fmt.Errorf("%q is not a time range such as 10:00-14:00", f[1])
	}
	var err error
	if r.start, err = parseClock(from, false); err != nil {
		return r, err
	}
	if r.end, err = parseClock(to, true); err != nil {
		return r, err
	}
	if r.start == r.end {
		return r, fmt.Errorf("the range %s is empty; for the whole day write the days alone", f[1])
	}
	return r, nil
}

// parseClock reads HH:MM; 24:00 only as an end.
func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) != 2 || len(m) != 2 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM, 00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

// overnight reports whether the window ends on the day after it starts.
func (r allowRule) overnight() bool { return r.end <= r.start }

// contains reports whether a local wall-clock time (its weekday and minute
// of the day) lies in the window. The window belongs to the day it starts
// on: "Mon 22:00-02:00" holds Monday 23:00 and Tuesday 01:00; for the
// latter, fromYesterday is true, so a holiday on Monday can close it.
func (r allowRule) contains(wd time.Weekday, minute int) (in, fromYesterday bool) {
	if !r.overnight() {
		return r.days[wd] && minute >= r.start && minute < r.end, false
	}
	if r.days[wd] && minute >= r.start {
		return true, false
	}
	if r.days[(wd+6)%7] && minute < r.end {
		return true, true
	}
	return false, false
}
