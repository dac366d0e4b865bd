package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/text"
)

// skipped is returned by a step that does not apply, saying why.
type skipped struct{ reason string }

func (s skipped) Error() string { return s.reason }

func skip(format string, args ...any) error { return skipped{fmt.Sprintf(format, args...)} }

// finished is returned by a step that found the operation's goal already
// reached: the operation ends there, successfully (outcome ok).
type finished struct{ reason string }

func (f finished) Error() string { return f.reason }

// runStep runs one step: it emits an event when the step starts and when
// it ends, times it, records its StepResult, and stops at the fault
// points around it. A skip is not an error.
func (o *op) runStep(ctx context.Context, s step) error {
	o.crashAt("before:" + string(s.name))
	o.emit(Event{Event: EventStep, Step: s.name, Status: StepStarted})
	start := time.Now()
	if o.tracker != nil {
		ctx = proc.WithTracker(ctx, o.tracker)
	}
	// A cancelled operation starts no further step: a step that does not
	// watch its context (link, switch) would run to its end regardless.
	err := ctx.Err()
	if err == nil {
		err = s.run(ctx, o)
	}
	res := StepResult{Name: s.name, DurationMS: time.Since(start).Milliseconds(), Status: StepOK}
	var sk skipped
	var fin finished
	switch {
	case errors.As(err, &sk):
		res.Status, res.Detail, err = StepSkipped, sk.reason, nil
	case errors.As(err, &fin):
		res.Status, res.Detail = StepOK, fin.reason
	case err != nil:
		err = o.interrupted(ctx, s.name, err)
		err = o.diskFull(err)
		res.Status, res.Detail = StepFailed, text.FirstLine(err.Error())
	}
	o.res.Steps = append(o.res.Steps, res)
	o.emit(Event{Event: EventStep, Step: s.name, Status: res.Status, MS: res.DurationMS, Msg: res.Detail})
	o.crashAt("after:" + string(s.name))
	return err
}

// interrupted names the real cause of a step that failed because its
// context ended: a killed child says "signal: killed", which is what
// ferry did to it, not why.
func (o *op) interrupted(ctx context.Context, name StepName, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		o.res.Interrupted = true
		return fail.Hint(fmt.Errorf("interrupted by a signal: %w", context.Canceled),
			"the operation was stopped (Ctrl-C, SIGTERM or SIGHUP) during "+string(name)+"; what it ran there was killed; run it again")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timed out: %w", context.DeadlineExceeded)
	}
	return err
}

// diskFull names a full disk as the cause, and where: a step that failed
// with ENOSPC (Windows: ERROR_DISK_FULL), or whose tool said so (pip,
// git), otherwise reads like a bug of that step.
func (o *op) diskFull(err error) error {
	if !isDiskFull(err) && !strings.Contains(strings.ToLower(err.Error()), "no space left on device") {
		return err
	}
	return fail.Hint(fmt.Errorf("the disk holding %s is full: %w", o.l.root, err),
		"free space on the disk that holds "+o.l.root+" (old releases, logs in shared/logs/, pip's cache), then run the deploy again")
}

// crashAt acts on FERRY_AGENT_FAULT when it names this point: "kill:P"
// delivers a real kill -9 to this process, "hang:P" blocks forever (a
// test then holds a deploy mid-flight, or kills it itself). The
// crash-safety tests use it to stop a deploy at every step boundary,
// deterministically. It costs nothing when unset.
func (o *op) crashAt(point string) {
	if o.fault == "" {
		return
	}
	switch o.fault {
	case "kill:" + point:
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	case "hang:" + point:
		o.emit(Event{Event: EventHang, Step: StepName(point)})
		select {}
	}
}
