package policy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/policy"
	"github.com/ferryhq/ferry/internal/policy/ssmcalendar"
	"github.com/ferryhq/ferry/internal/ssmemu"
)

func TestMain(m *testing.M) {
	// Nothing here may find real credentials or talk to IMDS.
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// emulator serves SSM on loopback and returns a real SDK client for it,
// and a count of the GetCalendarState calls made.
func emulator(t *testing.T) (*ssmemu.Emulator, *ssm.Client, *atomic.Int64) {
	t.Helper()
	emu, err := ssmemu.New(ssmemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetCalendarState") {
			calls.Add(1)
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		emu.Close()
	})
	client := ssm.New(ssm.Options{
		Region:       "eu-central-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	return emu, client, &calls
}

// A CLOSED change calendar refuses inside a window, through the emulator
// and aws-sdk-go-v2; the next window opens when the calendar does.
func TestChangeCalendarClosed(t *testing.T) {
	emu, client, calls := emulator(t)
	// Closed from Monday to Tuesday 12:00 UTC (13:00 in Berlin).
	emu.SetCalendar("ProductionCalendar", ssmemu.Calendar{Default: ssmemu.CalendarOpen, Events: []ssmemu.CalendarEvent{
		{Start: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)},
	}})
	cfg := sop()
	cfg.ChangeCalendars = []string{"ProductionCalendar"}
	p := newPolicy(t, cfg, at(2026, 12, 1, 10, 30), ssmcalendar.New(client))
	d, err := p.Check(context.Background(), policy.Request{})
	if fail.Code(err) != exitcode.Refused || d.Open {
		t.Fatalf("closed calendar: code %d, %v", fail.Code(err), err)
	}
	if len(d.Refusals) != 1 || d.Refusals[0].Rule != policy.RuleCalendar || d.Refusals[0].Name != "ProductionCalendar" {
		t.Errorf("refusals %+v", d.Refusals)
	}
	if !strings.Contains(err.Error(), "change calendar ProductionCalendar is CLOSED until Tue 2026-12-01 13:00 CET") {
		t.Errorf("error %q", err)
	}
	if want := at(2026, 12, 1, 13, 0); !d.NextOpen.Equal(want) {
		t.Errorf("next open %v, want %v (the calendar opens inside the window)", d.NextOpen, want)
	}
	if calls.Load() == 0 {
		t.Errorf("the emulator was never asked")
	}

	// Closed across Tuesday's whole window: the next opening is Wednesday.
	emu.SetCalendar("ProductionCalendar", ssmemu.Calendar{Default: ssmemu.CalendarOpen, Events: []ssmemu.CalendarEvent{
		{Start: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)},
	}})
	d, _ = p.Check(context.Background(), policy.Request{})
	if want := at(2026, 12, 2, 10, 0); !d.NextOpen.Equal(want) {
		t.Errorf("next open %v, want %v", d.NextOpen, want)
	}
	// Closing inside a window shortens the period ferry windows shows.
	emu.SetCalendar("ProductionCalendar", ssmemu.Calendar{Default: ssmemu.CalendarOpen, Events: []ssmemu.CalendarEvent{
		{Start: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)},
	}})
	up, err := newPolicy(t, cfg, at(2026, 11, 30, 12, 0), ssmcalendar.New(client)).Upcoming(context.Background(), 2)
	if err != nil || len(up) != 2 || !up[0].Open.Equal(at(2026, 12, 1, 10, 0)) || !up[0].Close.Equal(at(2026, 12, 1, 12, 0)) ||
		!up[1].Open.Equal(at(2026, 12, 2, 10, 0)) {
		t.Errorf("upcoming %+v (%v)", up, err)
	}

	// An open calendar inside the window allows the deploy.
	emu.SetCalendarState("ProductionCalendar", ssmemu.CalendarOpen)
	if d, err := p.Check(context.Background(), policy.Request{}); err != nil || !d.Open {
		t.Errorf("open calendar: %v", err)
	}
	// A calendar that does not exist: refused as unknown, exit 1, with
	// SSM's error code in the message.
	emu.RemoveCalendar("ProductionCalendar")
	_, err = p.Check(context.Background(), policy.Request{})
	if fail.Code(err) != exitcode.Failed || !strings.Contains(err.Error(), "InvalidDocument") {
		t.Errorf("missing calendar: code %d, %v", fail.Code(err), err)
	}
}

// A calendar closed for good: no next window, said so.
func TestChangeCalendarNeverOpens(t *testing.T) {
	emu, client, _ := emulator(t)
	emu.SetCalendarState("Locked", ssmemu.CalendarClosed)
	cfg := sop()
	cfg.ChangeCalendars = []string{"Locked"}
	d, err := newPolicy(t, cfg, at(2026, 12, 1, 10, 30), ssmcalendar.New(client)).Check(context.Background(), policy.Request{})
	if fail.Code(err) != exitcode.Refused || !d.NextOpen.IsZero() {
		t.Fatalf("closed for good: %v, next %v", err, d.NextOpen)
	}
	if h := hints(err); !strings.Contains(h, "no window opens in the next two years") {
		t.Errorf("hints %q", h)
	}
}
