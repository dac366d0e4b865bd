package ssmemu

import (
	"strconv"
	"strings"
	"time"
)

// epochTime marshals like the AWS JSON protocol's "timestamp" shapes
// (RequestedDateTime, ExpiresAfter, ...): seconds since the epoch as a number.
type epochTime time.Time

func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

func epochPtr(t time.Time) *epochTime {
	if t.IsZero() {
		return nil
	}
	e := epochTime(t)
	return &e
}

// isoTime renders the model's StringDateTime fields (ExecutionStartDateTime...)
// the way the service does: UTC with milliseconds, e.g. 2023-05-07T22:13:33.797Z.
// A zero time is the empty string, which the API uses for "not started".
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// isoDuration renders ExecutionElapsedTime in the ISO-8601 form the service
// returns (observed: "PT1H0.271S"): hours and minutes only when non-zero,
// seconds with the fraction's trailing zeros dropped, millisecond precision.
func isoDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Millisecond)
	var b strings.Builder
	b.WriteString("PT")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	if d == 0 && (h > 0 || m > 0) {
		return b.String()
	}
	secs := int64(d / time.Second)
	ms := int64((d % time.Second) / time.Millisecond)
	b.WriteString(strconv.FormatInt(secs, 10))
	if ms > 0 {
		frac := strings.TrimRight(strconv.FormatInt(1000+ms, 10)[1:], "0")
		b.WriteString("." + frac)
	}
	b.WriteString("S")
	return b.String()
}
