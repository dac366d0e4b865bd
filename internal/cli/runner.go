package cli

import (
	"context"
	"errors"
	"time"
)

// The runner is the deploying side's list of steps (steps.go) and the one
// loop that runs them. Each step is timed and logged at debug level
// (FERRY_DEBUG=1); a step that does not apply returns skip("why"); after a
// failure only the steps marked always run (the report, which must tell
// what happened), and the first failure is what the command returns.

// step is one named stage of a runner's list.
type step[S any] struct {
	name string
	run  func(S, context.Context) error
	// always runs the step after an earlier one failed.
	always bool
}

// skip ends a step that does not apply, saying why.
func skip(why string) error { return &skipped{why: why} }

type skipped struct{ why string }

func (s *skipped) Error() string { return "skipped: " + s.why }

// Runner step statuses.
const (
	stepOK      = "ok"
	stepSkipped = "skipped"
	stepFailed  = "failed"
)

// stepRecord is how one runner step went, in the --json result.
type stepRecord struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	// Detail is why a step skipped, or its error.
	Detail string `json:"detail,omitempty"`
}

// stepObserver is told how each step went as soon as it ends, so that a
// later step marked always (the audit record) knows what came before it
// and what failed first.
type stepObserver interface {
	stepDone(rec stepRecord, err error)
}

// runSteps runs steps in order on s. It returns how each went and the
// first failure.
func runSteps[S any](ctx context.Context, c Common, steps []step[S], s S) ([]stepRecord, error) {
	obs, _ := any(s).(stepObserver)
	var records []stepRecord
	var first error
	for _, st := range steps {
		if first != nil && !st.always {
			rec := stepRecord{Name: st.name, Status: stepSkipped, Detail: "an earlier step failed"}
			records = append(records, rec)
			if obs != nil {
				obs.stepDone(rec, nil)
			}
			c.debugf("step %s: skipped after a failure", st.name)
			continue
		}
		start := time.Now()
		err := st.run(s, ctx)
		rec := stepRecord{Name: st.name, Status: stepOK, DurationMS: time.Since(start).Milliseconds()}
		var sk *skipped
		switch {
		case errors.As(err, &sk):
			rec.Status, rec.Detail = stepSkipped, sk.why
		case err != nil:
			rec.Status, rec.Detail = stepFailed, err.Error()
			if first == nil {
				first = err
			}
		}
		c.debugf("step %s: %s in %dms %s", rec.Name, rec.Status, rec.DurationMS, rec.Detail)
		records = append(records, rec)
		if obs != nil {
			obs.stepDone(rec, err)
		}
	}
	return records, first
}
