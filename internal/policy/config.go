package policy

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Environment is the policy part of one environment in ferry.yml. The
// config package's decoder does not support inline structs, so the lead
// copies these four fields into config.Environment with the same tags.
type Environment struct {
	// Windows says when deploys are allowed; none means at any time.
	Windows Windows `yaml:"windows"`
	// Freezes are date ranges with no deploys at all, whatever the windows say.
	Freezes []Freeze `yaml:"freezes"`
	// ChangeCalendars names SSM Change Calendar documents (names or ARNs);
	// a deploy needs every one of them OPEN.
	ChangeCalendars []string `yaml:"change_calendars"`
	Policy          Settings `yaml:"policy"`
}

// Windows are the deployment windows of an environment.
type Windows struct {
	// Timezone is the IANA zone the rules are read in, e.g. Europe/Berlin.
	// Required whenever allow, holidays or freezes are set: a CI runner's
	// own zone is usually UTC, which is not the team's.
	Timezone string `yaml:"timezone"`
	// Allow lists the open ranges: "Tue-Thu 10:00-14:00", "Mon 08:00-09:00",
	// "Mon,Wed,Fri 22:00-02:00" (overnight), "Sat" (the whole day). None
	// means every time is allowed (holidays and freezes still apply).
	Allow []string `yaml:"allow"`
	// Holidays are whole local days without deploys: 2026-12-24 (that day)
	// or 12-25 (every year).
	Holidays []string `yaml:"holidays"`
}

// Freeze is a period without deploys.
type Freeze struct {
	// From and To are dates (both days included: from 00:00 of From to the
	// end of To, local time) or RFC 3339 instants (To excluded).
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	// Reason is told to whoever is refused.
	Reason string `yaml:"reason" json:"reason"`
}

// Settings hold the environment's policy switches.
type Settings struct {
	// Emergency is allow (the default) or forbid: whether
	// --emergency --reason may deploy outside the windows, a freeze or a
	// closed calendar.
	Emergency string `yaml:"emergency"`
}

// Emergency settings.
const (
	EmergencyAllow  = "allow"
	EmergencyForbid = "forbid"
)

// Problem is one mistake in the policy keys of an environment. Path is
// relative to the environment ("windows.allow[1]"), in the form the config
// decoder records key positions in, so the caller can report
// ferry.yml:LINE:COL.
type Problem struct {
	Path    string
	Message string
	Hint    string
}

func (p Problem) Error() string { return p.Path + ": " + p.Message }

// Validate reports every mistake in e at once; nil when it compiles.
func Validate(e Environment) []Problem {
	_, ps := compile(e)
	return ps
}

// rules is an Environment compiled: parsed, in one location.
type rules struct {
	loc       *time.Location
	zone      string
	allow     []allowRule
	holidays  []holiday
	freezes   []freeze
	calendars []string
	emergency string
}

func compile(e Environment) (*rules, []Problem) {
	var ps []Problem
	add := func(path, hint, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...), Hint: hint})
	}
	r := &rules{loc: time.UTC, zone: "UTC"}
	needZone := len(e.Windows.Allow) > 0 || len(e.Windows.Holidays) > 0 || len(e.Freezes) > 0
	switch tz := strings.TrimSpace(e.Windows.Timezone); {
	case tz == "" && needZone:
		add("windows.timezone", "add `timezone: Europe/Berlin` (an IANA zone name) under windows",
			"windows.timezone is required with allow, holidays or freezes: the rules are read in local time")
	case tz == "":
	case tz == "Local" || !zoneName.MatchString(tz):
		add("windows.timezone", "name an IANA zone such as Europe/Berlin, America/New_York or UTC",
			"windows.timezone %q is not an IANA time zone name", tz)
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			add("windows.timezone", "name an IANA zone such as Europe/Berlin, America/New_York or UTC",
				"windows.timezone %q is not a known time zone", tz)
		} else {
			r.loc, r.zone = loc, tz
		}
	}
	for i, s := range e.Windows.Allow {
		a, err := parseAllow(s)
		if err != nil {
			add(fmt.Sprintf("windows.allow[%d]", i), `write days and hours such as "Tue-Thu 10:00-14:00" or "Mon,Fri 08:00-09:30"`,
				"%q: %v", s, err)
			continue
		}
		r.allow = append(r.allow, a)
	}
	for i, s := range e.Windows.Holidays {
		h, err := parseHoliday(s)
		if err != nil {
			add(fmt.Sprintf("windows.holidays[%d]", i), "write a date as 2026-12-24, or 12-25 for every year", "holiday %q: %v", s, err)
			continue
		}
		r.holidays = append(r.holidays, h)
	}
	for i, f := range e.Freezes {
		at := fmt.Sprintf("freezes[%d]", i)
		fr, fps := parseFreeze(f, r.loc, at)
		ps = append(ps, fps...)
		if fps == nil {
			r.freezes = append(r.freezes, fr)
		}
	}
	seen := map[string]bool{}
	for i, c := range e.ChangeCalendars {
		at := fmt.Sprintf("change_calendars[%d]", i)
		switch {
		case !calendarName.MatchString(c):
			add(at, "name the Change Calendar document (e.g. ProductionCalendar) or give its ARN",
				"%q is not an SSM document name or ARN", c)
		case seen[c]:
			add(at, "remove one of them", "change calendar %s is listed twice", c)
		default:
			seen[c] = true
			r.calendars = append(r.calendars, c)
		}
	}
	switch e.Policy.Emergency {
	case "", EmergencyAllow:
		r.emergency = EmergencyAllow
	case EmergencyForbid:
		r.emergency = EmergencyForbid
	default:
		add("policy.emergency", "write allow or forbid", "policy.emergency %q must be allow or forbid", e.Policy.Emergency)
	}
	return r, ps
}

var (
	zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)
	// SSM document names (botocore: ^[a-zA-Z0-9_\-.]{3,128}$) or document ARNs.
	calendarName = regexp.MustCompile(`^([a-zA-Z0-9_\-.]{3,128}|arn:aws[a-z\-]*:ssm:[a-z0-9\-]+:[0-9]{12}:document/[a-zA-Z0-9_\-.]{3,128})$`)
)

// holiday is a whole local day: a date, or a month and day every year.
type holiday struct {
	year  int // 0: every year
	month time.Month
	day   int
	text  string
}

func (h holiday) matches(y int, m time.Month, d int) bool {
	return (h.year == 0 || h.year == y) && h.month == m && h.day == d
}

func parseHoliday(s string) (holiday, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return holiday{year: t.Year(), month: t.Month(), day: t.Day(), text: s}, nil
	}
	// 2000 is a leap year, so 02-29 is accepted as a yearly holiday.
	if t, err := time.Parse("2006-01-02", "2000-"+s); err == nil && len(s) == 5 {
		return holiday{month: t.Month(), day: t.Day(), text: s}, nil
	}
	return holiday{}, fmt.Errorf("not a date")
}

// freeze is [from, to) in instants.
type freeze struct {
	from, to time.Time
	reason   string
	text     string // as written, for messages: 2026-12-20..2027-01-02
}

func parseFreeze(f Freeze, loc *time.Location, at string) (freeze, []Problem) {
	var ps []Problem
	hint := "write dates as 2026-12-20 (both days included) or instants as 2026-12-20T18:00:00+01:00"
	from, err := parseBound(f.From, loc, false)
	if err != nil {
		ps = append(ps, Problem{Path: at + ".from", Message: fmt.Sprintf("freeze from %q: %v", f.From, err), Hint: hint})
	}
	to, err2 := parseBound(f.To, loc, true)
	if err2 != nil {
		ps = append(ps, Problem{Path: at + ".to", Message: fmt.Sprintf("freeze to %q: %v", f.To, err2), Hint: hint})
	}
	if err == nil && err2 == nil && !to.After(from) {
		ps = append(ps, Problem{Path: at + ".to", Message: fmt.Sprintf("freeze ends (%s) before it starts (%s)", f.To, f.From),
			Hint: "swap from and to, or fix the year"})
	}
	if strings.TrimSpace(f.Reason) == "" {
		ps = append(ps, Problem{Path: at + ".reason", Message: "a freeze needs a reason", Hint: "say why, e.g. `reason: year-end`; it is told to whoever is refused"})
	}
	if ps != nil {
		return freeze{}, ps
	}
	text := strings.TrimSpace(f.From) + ".." + strings.TrimSpace(f.To)
	return freeze{from: from, to: to, reason: strings.TrimSpace(f.Reason), text: text}, nil
}

// parseBound reads a freeze bound. A date starts at local midnight; as
// an end it means the end of that day (the next local midnight).
func parseBound(s string, loc *time.Location, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("required")
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		d := civil(t.Year(), t.Month(), t.Day())
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return startOfDay(d, loc), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("not a date or an RFC 3339 time")
}
