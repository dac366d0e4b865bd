package cli

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport"
)

// The --json contract, documented in docs/json.md: one envelope per run,
// success or failure, with every duration in milliseconds. The agent's
// own types carry time.Duration (nanoseconds in JSON) in a few places; the
// view types below render those as *_ms at this edge and pass every other
// field through, so a field the agent adds still reaches the output (and
// the docs test, which refuses undocumented fields).

// EnvelopeSchema is the envelope's version: fields may be added, never
// renamed or removed, without changing it.
const EnvelopeSchema = 1

// envelope is what --json prints.
type envelope struct {
	Schema   int        `json:"schema"`
	Command  string     `json:"command"`
	OK       bool       `json:"ok"`
	ExitCode int        `json:"exit_code"`
	Error    *fail.JSON `json:"error"`
	Result   any        `json:"result"`
}

// resultSlot carries a command's result from runX to the frame.
type resultSlot struct {
	value any
	// printed: the command printed its envelope itself (a server prints
	// it when it is ready, not when it stops).
	printed bool
	// out is stdout as given, for the envelope, which is redacted as
	// JSON rather than as text.
	out io.Writer
}

// writeEnvelope writes the envelope to w, redacted by r (nil: URL
// credentials only).
func writeEnvelope(w io.Writer, r *redactor, command string, err error, result any) error {
	code := fail.Code(err)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(envelope{Schema: EnvelopeSchema, Command: command, OK: code == 0, ExitCode: code, Error: fail.ToJSON(err), Result: result}); err != nil {
		return err
	}
	out, err := r.redactJSON(b.Bytes())
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// hidden hides an embedded field from JSON: a nil pointer under the same
// name shadows it and is omitted.
type hidden = *struct{}

// targetJSON is one server's answer.
type targetJSON struct {
	Target string     `json:"target"`
	Result resultJSON `json:"result"`
}

// resultJSON is an agent result with its durations in milliseconds.
type resultJSON struct {
	agent.Result
	Status   *statusJSON   `json:"status,omitempty"`
	Releases []releaseJSON `json:"releases,omitempty"`
	Lock     *lockJSON     `json:"lock,omitempty"`
}

type statusJSON struct {
	agent.Status
	Current  *releaseJSON `json:"current,omitempty"`
	Previous *releaseJSON `json:"previous,omitempty"`
	// Bad are the kept releases that failed or went bad (an agent that
	// lists them).
	Bad    []releaseJSON `json:"bad,omitempty"`
	Locked *lockJSON     `json:"locked_by,omitempty"`
}

type releaseJSON struct {
	agent.Release
	Run *runJSON `json:"run,omitempty"`
}

type runJSON struct {
	agent.RunConfig
	Health        healthJSON `json:"health"`
	StopTimeout   hidden     `json:"stop_timeout,omitempty"`
	StopTimeoutMS int64      `json:"stop_timeout_ms,omitempty"`
}

type healthJSON struct {
	agent.HealthSpec
	Deadline   hidden `json:"deadline,omitempty"`
	Interval   hidden `json:"interval,omitempty"`
	DeadlineMS int64  `json:"deadline_ms,omitempty"`
	IntervalMS int64  `json:"interval_ms,omitempty"`
	Watch      hidden `json:"watch,omitempty"`
	WatchMS    int64  `json:"watch_ms,omitempty"`
}

type lockJSON struct {
	agent.LockOwner
	TTL   hidden `json:"ttl,omitempty"`
	TTLMS int64  `json:"ttl_ms"`
}

func targetsJSON(results []transport.TargetResult) []targetJSON {
	out := []targetJSON{}
	for _, r := range results {
		out = append(out, targetJSON{Target: r.Target, Result: toResultJSON(r.Result)})
	}
	return out
}

func toResultJSON(r agent.Result) resultJSON {
	j := resultJSON{Result: r, Lock: toLockJSON(r.Lock)}
	if s := r.Status; s != nil {
		j.Status = &statusJSON{Status: *s, Current: toReleaseJSON(s.Current), Previous: toReleaseJSON(s.Previous), Bad: badReleasesJSON(s), Locked: toLockJSON(s.Locked)}
	}
	for i := range r.Releases {
		j.Releases = append(j.Releases, *toReleaseJSON(&r.Releases[i]))
	}
	return j
}

// badReleasesJSON is the status's list of bad releases, read through its
// JSON form: it is there whatever the agent's Go field is called.
func badReleasesJSON(s *agent.Status) []releaseJSON {
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	var v struct {
		Bad []agent.Release `json:"bad"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	var out []releaseJSON
	for i := range v.Bad {
		out = append(out, *toReleaseJSON(&v.Bad[i]))
	}
	return out
}

func toReleaseJSON(r *agent.Release) *releaseJSON {
	if r == nil {
		return nil
	}
	j := &releaseJSON{Release: *r}
	if run := r.Run; run != nil {
		j.Run = &runJSON{RunConfig: *run, StopTimeoutMS: run.StopTimeout.Milliseconds(),
			Health: healthJSON{HealthSpec: run.Health, DeadlineMS: run.Health.Deadline.Milliseconds(), IntervalMS: run.Health.Interval.Milliseconds(), WatchMS: run.Health.Watch.Milliseconds()}}
	}
	return j
}

func toLockJSON(l *agent.LockOwner) *lockJSON {
	if l == nil {
		return nil
	}
	return &lockJSON{LockOwner: *l, TTLMS: l.TTL.Milliseconds()}
}
