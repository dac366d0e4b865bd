package ssmemu

import (
	"strings"
	"testing"
	"time"
)

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "PT0S",
		271 * time.Millisecond:                "PT0.271S",
		time.Hour + 271*time.Millisecond:      "PT1H0.271S", // observed in a real answer
		90 * time.Second:                      "PT1M30S",
		2 * time.Hour:                         "PT2H",
		61*time.Minute + 500*time.Millisecond: "PT1H1M0.5S",
	} {
		if got := isoDuration(d); got != want {
			t.Errorf("isoDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCutContent(t *testing.T) {
	if got := cutContent([]byte("short"), 5, 24000); got != "short" {
		t.Errorf("short: %q", got)
	}
	// The agent cuts at max bytes or more, so exactly max bytes is cut too.
	exact := []byte(strings.Repeat("x", 30))
	if got := cutContent(exact, 30, 30); got != strings.Repeat("x", 10)+truncatedSuffix {
		t.Errorf("exact: %q", got)
	}
	// A cut inside a multi-byte character moves back to keep valid UTF-8.
	utf := []byte(strings.Repeat("é", 20)) // 40 bytes
	got := cutContent(utf, 40, 31)         // 11 bytes of content: 5 runes and half of one
	if got != strings.Repeat("é", 5)+truncatedSuffix {
		t.Errorf("utf-8: %q", got)
	}
}

func TestPluginOutput(t *testing.T) {
	out, errs := []byte(strings.Repeat("o", 100)), []byte(strings.Repeat("e", 100))
	title, om, em := len(pluginErrorTitle), len(pluginOutMarker), len(pluginErrMarker)
	for _, tc := range []struct {
		name           string
		outLen, errLen int
		capacity       int
		want           string
	}{
		{"fits", 10, 10, 200, strings.Repeat("o", 10) + pluginErrorTitle + strings.Repeat("e", 10)},
		{"stdout only fits", 10, 0, 200, strings.Repeat("o", 10)},
		{"both long", 100, 100, 150, strings.Repeat("o", (150-title-om-em)/2) + pluginOutMarker + pluginErrorTitle + strings.Repeat("e", (150-title-om-em)/2) + pluginErrMarker},
		{"stderr long", 10, 100, 100, strings.Repeat("o", 10) + pluginErrorTitle + strings.Repeat("e", 100-title-em-10) + pluginErrMarker},
		{"stdout long", 100, 0, 60, strings.Repeat("o", 60-om) + pluginOutMarker},
	} {
		got := pluginOutput(out[:min(tc.outLen, 100)], int64(tc.outLen), errs[:tc.errLen], int64(tc.errLen), tc.capacity)
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		if len(got) > tc.capacity {
			t.Errorf("%s: %d bytes exceed capacity %d", tc.name, len(got), tc.capacity)
		}
	}
}

func TestResolveRate(t *testing.T) {
	for _, tc := range []struct {
		s           string
		n           int
		concurrency bool
		want        int
	}{
		{"50", 3, true, 50}, {"50%", 5, true, 3}, {"1%", 5, true, 1}, {"10%", 50, false, 5}, {"10%", 5, false, 0}, {"0", 5, false, 0},
	} {
		if got := resolveRate(tc.s, tc.n, tc.concurrency); got != tc.want {
			t.Errorf("resolveRate(%q, %d, %v) = %d, want %d", tc.s, tc.n, tc.concurrency, got, tc.want)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	for detail, want := range map[string]string{
		detailPending: "Pending", detailInProgress: "InProgress", detailSuccess: "Success", detailFailed: "Failed",
		detailExecutionTimedOut: "TimedOut", detailDeliveryTimedOut: "TimedOut", detailCancelling: "Cancelling",
		detailCancelled: "Cancelled", detailUndeliverable: "Failed", detailTerminated: "Failed", detailInvalidPlatform: "Failed",
	} {
		if got := invocationStatus(detail); got != want {
			t.Errorf("invocationStatus(%s) = %s, want %s", detail, got, want)
		}
	}
	c := &command{maxErr: 1}
	add := func(details ...string) {
		c.invocations = nil
		for _, d := range details {
			c.invocations = append(c.invocations, &invocation{detail: d})
		}
	}
	for _, tc := range []struct {
		details []string
		status  string
		detail  string
	}{
		{[]string{detailPending, detailPending}, "Pending", detailPending},
		{[]string{detailInProgress, detailPending}, "InProgress", detailInProgress},
		{[]string{detailSuccess, detailSuccess}, "Success", detailSuccess},
		{[]string{detailFailed, detailSuccess}, "Failed", detailIncomplete},
		{[]string{detailFailed, detailFailed}, "Failed", detailFailed},
		{[]string{detailExecutionTimedOut, detailExecutionTimedOut}, "TimedOut", detailExecutionTimedOut},
		{[]string{detailDeliveryTimedOut, detailDeliveryTimedOut}, "TimedOut", detailDeliveryTimedOut},
		{[]string{detailDeliveryTimedOut, detailSuccess}, "Failed", detailIncomplete},
	} {
		add(tc.details...)
		if s, d := c.statusLocked(); s != tc.status || d != tc.detail {
			t.Errorf("%v: %s/%s, want %s/%s", tc.details, s, d, tc.status, tc.detail)
		}
	}
}
