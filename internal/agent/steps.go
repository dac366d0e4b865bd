package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Step is one named stage of an operation. Steps are listed in order and
// run by one wrapper that times, reports and records them.
type Step interface {
	String() string
	Run(ctx context.Context) error
}

// step adapts a function to Step.
type step struct {
	name string
	run  func(ctx context.Context) error
}

func (s step) String() string                { return s.name }
func (s step) Run(ctx context.Context) error { return s.run(ctx) }

// skipped is returned by a step that does not apply, saying why.
type skipped struct{ reason string }

func (s skipped) Error() string { return s.reason }

func skip(format string, args ...any) error { return skipped{fmt.Sprintf(format, args...)} }

// runner runs steps, emitting an event when each starts and ends.
type runner struct {
	emit    func(Event)
	results *[]StepResult
	fault   string
}

// run executes one step; a skip is not an error.
func (r runner) run(ctx context.Context, s Step) error {
	name := StepName(s.String())
	r.crashAt("before:" + string(name))
	r.emit(Event{Event: "step", Step: name, Status: "start"})
	start := time.Now()
	err := s.Run(ctx)
	res := StepResult{Name: name, DurationMS: time.Since(start).Milliseconds(), Status: "ok"}
	var sk skipped
	switch {
	case errors.As(err, &sk):
		res.Status, res.Detail, err = "skipped", sk.reason, nil
	case err != nil:
		res.Status, res.Detail = "failed", firstLine(err.Error())
	}
	*r.results = append(*r.results, res)
	r.emit(Event{Event: "step", Step: name, Status: res.Status, MS: res.DurationMS, Msg: res.Detail})
	r.crashAt("after:" + string(name))
	return err
}

// crashAt acts on FERRY_AGENT_FAULT when it names this point: "kill:P"
// delivers a real kill -9 to this process, "hang:P" blocks forever (a
// test then holds a deploy mid-flight, or kills it itself). The
// crash-safety tests use it to stop a deploy at every step boundary,
// deterministically. It costs nothing when unset.
func (r runner) crashAt(point string) {
	if r.fault == "" {
		return
	}
	switch r.fault {
	case "kill:" + point:
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	case "hang:" + point:
		r.emit(Event{Event: EventHang, Step: StepName(point)})
		select {}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
