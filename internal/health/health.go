// Package health decides whether a started release serves: it polls an
// HTTP endpoint with backoff until a deadline instead of sleeping a fixed
// time, and, when the body carries a version, insists it is the deployed
// one, so an old process still holding the port cannot pass for the new.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/text"
)

// Check describes one readiness probe.
type Check struct {
	URL    string
	Status int // expected HTTP status
	// VersionField, when set, names a top-level JSON field that must equal Version.
	VersionField string
	Version      string
	Deadline     time.Duration
	// Interval caps the wait between attempts; attempts start faster.
	Interval time.Duration
	// Alive, when set, is asked between attempts; false ends the wait at
	// once (the process exited, no point waiting for the deadline).
	Alive func() bool
	// Client defaults to one with a per-attempt timeout.
	Client *http.Client
}

// Result reports how the probe went.
type Result struct {
	Healthy  bool          `json:"healthy"`
	Attempts int           `json:"attempts"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	// Last describes the last answer (or failure), for people.
	Last string `json:"last"`
}

// ErrExited reports that the process died while we waited for it.
var ErrExited = errors.New("the process exited before it became healthy")

// Wait polls until healthy, the deadline, the process exiting or ctx.
func Wait(ctx context.Context, c Check) (Result, error) {
	start := time.Now()
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	// Poll fast while a typical app is still starting, then back off
	// towards Interval so a slow start costs few requests. The deadline
	// bounds when attempts start, not the attempt in flight: that one
	// runs to its answer (at most the client's timeout), so at least one
	// answer is always had, however slowly a loaded machine schedules
	// this process and the app. Cutting it at the deadline made a check
	// on a loaded machine report "no answer" instead of the answer.
	schedule := poll.Backoff{Initial: 5 * time.Millisecond, Warm: time.Second, Factor: 2, Max: c.Interval, Deadline: c.Deadline}
	var res Result
	err := poll.Until(ctx, schedule, func(ctx context.Context) (bool, error) {
		res.Attempts++
		ok, last := probe(ctx, client, c)
		res.Elapsed = time.Since(start)
		if !ok && ctx.Err() != nil && res.Last != "" {
			// The caller gave up during this attempt: the answer before
			// it says more about why the app is not healthy.
			return false, ctx.Err()
		}
		res.Last = last
		if ok {
			res.Healthy = true
			return true, nil
		}
		if c.Alive != nil && !c.Alive() {
			return false, fmt.Errorf("%w (last answer: %s)", ErrExited, last)
		}
		return false, nil
	})
	if err == nil || errors.Is(err, ErrExited) {
		return res, err
	}
	// The deadline, or the caller gave up: either way not healthy in time.
	res.Elapsed = time.Since(start)
	return res, fmt.Errorf("not healthy after %s and %d attempts: %s", c.Deadline, res.Attempts, res.Last)
}

// Once probes one time, for status reports.
func Once(ctx context.Context, c Check) (bool, string) {
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 3 * time.Second}
	}
	return probe(ctx, client, c)
}

func probe(ctx context.Context, client *http.Client, c Check) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "ferry-health")
	resp, err := client.Do(req)
	if err != nil {
		return false, "no answer: " + shortErr(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != c.Status {
		return false, fmt.Sprintf("HTTP %d (want %d)", resp.StatusCode, c.Status)
	}
	if c.VersionField == "" {
		return true, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return false, fmt.Sprintf("HTTP %d but the body is not JSON", resp.StatusCode)
	}
	got, _ := doc[c.VersionField].(string)
	if got != c.Version {
		return false, fmt.Sprintf("HTTP %d but %s is %q, want %q", resp.StatusCode, c.VersionField, got, c.Version)
	}
	return true, fmt.Sprintf("HTTP %d, %s %s", resp.StatusCode, c.VersionField, text.Short(got))
}

func shortErr(err error) string {
	var ue interface{ Unwrap() error }
	for errors.As(err, &ue) {
		inner := ue.Unwrap()
		if inner == nil {
			break
		}
		err = inner
	}
	return err.Error()
}
