// Package proc starts, watches and stops the application process that a
// release runs. The process must outlive whoever started it (ferry on a
// laptop, ferry-agent under SSM), so it is detached from the starter's
// session and never inherits its standard handles. A PID alone is not an
// identity because PIDs are reused; a Handle pairs it with the process's
// start time.
package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

// Spec says how to start one application process.
type Spec struct {
	Argv    []string // program and arguments; never run through a shell
	Dir     string   // working directory
	Env     []string // complete environment, KEY=VALUE
	LogPath string   // stdout and stderr are appended here
}

// Handle identifies one running process across PID reuse.
type Handle struct {
	PID int `json:"pid"`
	// StartTime is the platform's process start stamp (Linux: clock ticks
	// since boot from /proc; Windows: creation FILETIME). Zero means unknown.
	StartTime uint64    `json:"start_time"`
	Started   time.Time `json:"started"`
	Argv      []string  `json:"argv,omitempty"`
}

// ErrNotRunning reports that the process a handle names has exited.
var ErrNotRunning = errors.New("process is not running")

// Start launches spec detached and returns its handle. The caller's
// process may exit at once afterwards; the child lives on.
func Start(spec Spec) (Handle, error) {
	if len(spec.Argv) == 0 {
		return Handle{}, errors.New("start: empty command")
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return Handle{}, fmt.Errorf("start: log directory: %w", err)
	}
	h, err := start(spec)
	if err != nil {
		return Handle{}, fmt.Errorf("start %s: %w", filepath.Base(spec.Argv[0]), err)
	}
	h.Started = time.Now().UTC()
	h.Argv = spec.Argv
	return h, nil
}

// Alive reports whether the process the handle names still runs: same PID
// and, when known, same start time, and not a zombie.
func Alive(h Handle) bool {
	if h.PID <= 0 {
		return false
	}
	st, ok := startTime(h.PID)
	if !ok {
		return false
	}
	return h.StartTime == 0 || st == h.StartTime
}

// Stop asks the process (and its group) to end, waits up to grace, then
// kills what is left, and returns only once it is gone, so that a release's
// files and port are free before the next one starts. When ctx ends during
// the grace, the kill comes at once; Stop gives up waiting only if ctx has
// ended and the process outlives even the kill.
func Stop(ctx context.Context, h Handle, grace time.Duration) error {
	if !Alive(h) {
		return nil
	}
	if err := terminate(h); err != nil && Alive(h) {
		return fmt.Errorf("stop pid %d: %w", h.PID, err)
	}
	if waitGone(ctx, h, grace) == nil {
		return reapGroup(ctx, h, grace)
	}
	if err := kill(h); err != nil && Alive(h) {
		return fmt.Errorf("kill pid %d: %w", h.PID, err)
	}
	switch err := waitGone(ctx, h, killWait); {
	case err == nil:
		return nil
	case errors.Is(err, poll.ErrDeadline):
		return fmt.Errorf("pid %d still running %s after kill", h.PID, killWait)
	default:
		return fmt.Errorf("kill pid %d: %w", h.PID, err)
	}
}

// killWait bounds the wait for a killed process to be gone: the kernel
// ends it at once, unless it is stuck in the kernel itself.
const killWait = 10 * time.Second

// exitPoll is how often waitGone looks: most apps exit within a few
// milliseconds of the signal, so the first half second is polled fast.
var exitPoll = poll.Backoff{Initial: 5 * time.Millisecond, Warm: 500 * time.Millisecond, Factor: 2, Max: 100 * time.Millisecond}

// waitGone returns nil once h has exited, poll.ErrDeadline when it still
// runs after d, or ctx's error.
func waitGone(ctx context.Context, h Handle, d time.Duration) error {
	b := exitPoll
	b.Deadline = d
	return poll.Until(ctx, b, func(context.Context) (bool, error) { return !Alive(h), nil })
}

// WritePIDFile records h at path atomically, so a reader never sees half.
func WritePIDFile(path string, h Handle) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// ReadPIDFile reads a handle written by WritePIDFile. A missing file is
// reported with os.ErrNotExist.
func ReadPIDFile(path string) (Handle, error) {
	var h Handle
	b, err := os.ReadFile(path)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("read pid file %s: %w", path, err)
	}
	return h, nil
}

// StartTimeOf returns the start stamp of a running pid, or 0 when it is
// not running or the platform cannot tell.
func StartTimeOf(pid int) uint64 {
	st, ok := startTime(pid)
	if !ok {
		return 0
	}
	return st
}
