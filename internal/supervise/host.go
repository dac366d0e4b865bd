package supervise

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// Host runs one target's app as a Windows service does: the program of
// the service is ferry-agent itself (`ferry-agent service run`), which
// builds a Host and calls Serve. It starts the app Next names, restarts it
// with backoff whenever it exits, and stops it gracefully when the service
// stops. It writes Target.PIDFile for every app it starts, so that the
// deploying agent watches the app itself, as in process mode, while the
// service manager owns the host.
type Host struct {
	// Target is the app's target; Root, Service, PIDFile and LogDir are
	// used.
	Target Target
	// Next says what to run now. It is asked before every start, so that
	// the host always runs the release the deployment names current; ok is
	// false when there is nothing to run (a first deploy that failed), and
	// an error ends the host.
	Next func() (spec Spec, ok bool, err error)
}

// Restart backoff of the host: the first restart after a second, doubling
// up to half a minute; a run longer than hostStableAfter starts the count
// again.
var (
	hostRestarts    = poll.Backoff{Initial: time.Second, Max: 30 * time.Second, Factor: 2}
	hostStableAfter = time.Minute
	hostPoll        = poll.Backoff{Initial: 100 * time.Millisecond}
)

// hostLog appends the host's own events (not the app's output, which has
// its own log) to the target's service log.
type hostLog struct {
	mu   sync.Mutex
	path string
	echo io.Writer
}

func (h *hostLog) printf(format string, args ...any) {
	line := time.Now().UTC().Format(time.RFC3339Nano) + " " + fmt.Sprintf(format, args...) + "\n"
	h.mu.Lock()
	defer h.mu.Unlock()
	if f, err := os.OpenFile(h.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		f.WriteString(line)
		f.Close()
	}
	if h.echo != nil {
		io.WriteString(h.echo, line)
	}
}

// hostLogPath is where the host of t logs: LogDir/service-NAME.log.
func (t Target) hostLogPath() string {
	return filepath.Join(t.LogDir, "service-"+t.Service+".log")
}

// Serve runs h under the Windows service manager when it started this
// process, in the foreground otherwise (until interrupted), which is how
// it is tested and how a person can watch it. It returns the process exit
// code.
func (h Host) Serve(stderr io.Writer) int {
	os.MkdirAll(h.Target.LogDir, 0o755)
	return h.serve(&hostLog{path: h.Target.hostLogPath()}, stderr)
}

// foreground runs the host until ctx ends, echoing its log to stderr.
func (h Host) foreground(ctx context.Context, log *hostLog, stderr io.Writer) int {
	log.echo = stderr
	log.printf("service host %s for %s (foreground)", h.Target.Service, h.Target.Root)
	if err := h.run(ctx, log); err != nil {
		log.printf("service host failed: %v", err)
		return exitcode.Failed
	}
	return exitcode.OK
}

// run runs the target's current app until ctx ends, restarting it with
// backoff whenever it exits, and then stops it gracefully (the release's
// own stop timeout, then by force). It returns nil when there is nothing
// to run and an error when Next fails.
func (h Host) run(ctx context.Context, log *hostLog) error {
	t := h.Target
	if err := os.MkdirAll(filepath.Dir(t.PIDFile), 0o755); err != nil {
		return fmt.Errorf("prepare %s: %w", filepath.Dir(t.PIDFile), err)
	}
	restarts := hostRestarts.Retry()
	first := true
	for ctx.Err() == nil {
		spec, ok, err := h.Next()
		if err != nil {
			return err
		}
		if !ok {
			log.printf("state.json names no current release: nothing to run")
			return nil
		}
		grace := spec.StopTimeout
		if first {
			// A host that crashed leaves its app running: the service
			// manager's restart must not start a second one on the port.
			if old, err := proc.ReadPIDFile(t.PIDFile); err == nil && proc.Alive(old) {
				log.printf("stopping pid %d left by an earlier run", old.PID)
				if err := proc.Stop(ctx, old, grace); err != nil {
					log.printf("stop pid %d: %v", old.PID, err)
				}
			}
			first = false
		}
		app, err := proc.Start(spec.Process)
		if err != nil {
			log.printf("start %s: %v", spec.Release, err)
		} else {
			h.recordPID(ctx, app, log)
			log.printf("started release %s as pid %d", spec.Release, app.PID)
			began := time.Now()
			if !waitExit(ctx, app) {
				log.printf("stopping release %s (pid %d, grace %s)", spec.Release, app.PID, grace)
				// The host's context has ended: that is the request to
				// stop, and the stop itself must not be cut short by it.
				err := proc.Stop(context.WithoutCancel(ctx), app, grace)
				os.Remove(t.PIDFile)
				if err != nil {
					log.printf("stop: %v", err)
					return err
				}
				log.printf("stopped")
				return nil
			}
			log.printf("release %s (pid %d) exited after %s", spec.Release, app.PID, time.Since(began).Round(time.Millisecond))
			if time.Since(began) > hostStableAfter {
				restarts.Reset()
			}
		}
		wait := restarts.Next()
		log.printf("restarting in %s", wait)
		if poll.Sleep(ctx, wait) != nil {
			os.Remove(t.PIDFile)
			log.printf("stopped")
			return nil
		}
	}
	return nil
}

// recordPID writes the app's PID file. A reader without delete sharing
// (an agent reading the file at that instant) can make a Windows rename
// fail: it is retried for a while.
func (h Host) recordPID(ctx context.Context, app proc.Handle, log *hostLog) {
	var last error
	err := poll.Until(ctx, poll.Backoff{Initial: 25 * time.Millisecond, Deadline: 500 * time.Millisecond}, func(context.Context) (bool, error) {
		last = proc.WritePIDFile(h.Target.PIDFile, app)
		return last == nil, nil
	})
	if err != nil {
		log.printf("%v", last)
	}
}

// waitExit returns true when app exits, false when ctx ends first.
func waitExit(ctx context.Context, app proc.Handle) bool {
	return poll.Until(ctx, hostPoll, func(context.Context) (bool, error) { return !proc.Alive(app), nil }) == nil
}
