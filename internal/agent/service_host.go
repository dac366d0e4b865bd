package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/proc"
)

// ServiceHostOptions say which target a service host runs. They come from
// the service's command line, which the agent wrote.
type ServiceHostOptions struct {
	// Root is the target's absolute root directory.
	Root string
	// Name is the service's name; the host's log is named after it.
	Name string
	// Environment is passed to the app as FERRY_ENVIRONMENT, as process
	// mode does.
	Environment string
}

var serviceNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$`)

// Validate refuses options the agent would never have written: the
// command line of a service is editable by administrators, and the host
// runs as LocalSystem.
func (o ServiceHostOptions) Validate() error {
	if err := checkRoot(o.Root); err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	if _, ok := homeRelative(o.Root); ok {
		return fmt.Errorf("--root %s: a service needs an absolute root", o.Root)
	}
	if !serviceNameRe.MatchString(o.Name) {
		return fmt.Errorf("--name %q is not a service name", o.Name)
	}
	if o.Environment != "" && !nameRe.MatchString(o.Environment) {
		return fmt.Errorf("--environment %q is not a valid name", o.Environment)
	}
	return nil
}

// Restart backoff of the host: the first restart after hostMinBackoff,
// doubling up to hostMaxBackoff; a run longer than hostStableAfter starts
// the count again.
var (
	hostMinBackoff  = time.Second
	hostMaxBackoff  = 30 * time.Second
	hostStableAfter = time.Minute
	hostPoll        = 100 * time.Millisecond
)

// hostLog appends the host's own events (not the app's output, which has
// its own log) to shared/logs/service-<name>.log.
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

func serviceLogPath(root, name string) string {
	return filepath.Join(root, "shared", "logs", "service-"+name+".log")
}

// runHost runs the target's current release until ctx ends, restarting it
// with backoff whenever it exits, and then stops it gracefully (the
// release's own stop_timeout, then by force). It reads state.json before
// every start, so it always runs what the state names current. It returns
// nil when there is nothing to run (no current release: a first deploy
// that failed) and an error when the state cannot be read.
func runHost(ctx context.Context, opts ServiceHostOptions, log *hostLog) error {
	l := layout{root: opts.Root}
	if err := os.MkdirAll(l.run(), 0o755); err != nil {
		return fmt.Errorf("prepare %s: %w", l.run(), err)
	}
	backoff := hostMinBackoff
	first := true
	for ctx.Err() == nil {
		o, r, err := hostRelease(l, opts)
		if err != nil {
			return err
		}
		if r == nil {
			log.printf("state.json names no current release: nothing to run")
			return nil
		}
		spec, err := appSpec(o, r)
		if err != nil {
			return fmt.Errorf("release %s: %w", r.ID, err)
		}
		grace := o.stopTimeoutOf(r)
		if first {
			// A host that crashed leaves its app running: the service
			// manager's restart must not start a second one on the port.
			if h, err := proc.ReadPIDFile(l.pidFile()); err == nil && proc.Alive(h) {
				log.printf("stopping pid %d left by an earlier run", h.PID)
				if err := proc.Stop(context.Background(), h, grace); err != nil {
					log.printf("stop pid %d: %v", h.PID, err)
				}
			}
			first = false
		}
		h, err := proc.Start(spec)
		if err != nil {
			log.printf("start %s: %v", r.ID, err)
		} else {
			// A reader without delete sharing (an agent reading the file
			// at that instant) can make a Windows rename fail: retry.
			for i := 0; ; i++ {
				err := proc.WritePIDFile(l.pidFile(), h)
				if err == nil {
					break
				}
				if i == 20 {
					log.printf("%v", err)
					break
				}
				time.Sleep(25 * time.Millisecond)
			}
			log.printf("started release %s as pid %d", r.ID, h.PID)
			began := time.Now()
			if !waitExit(ctx, h) {
				log.printf("stopping release %s (pid %d, grace %s)", r.ID, h.PID, grace)
				err := proc.Stop(context.Background(), h, grace)
				os.Remove(l.pidFile())
				if err != nil {
					log.printf("stop: %v", err)
					return err
				}
				log.printf("stopped")
				return nil
			}
			log.printf("release %s (pid %d) exited after %s", r.ID, h.PID, time.Since(began).Round(time.Millisecond))
			if time.Since(began) > hostStableAfter {
				backoff = hostMinBackoff
			}
		}
		log.printf("restarting in %s", backoff)
		select {
		case <-ctx.Done():
			os.Remove(l.pidFile())
			log.printf("stopped")
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, hostMaxBackoff)
	}
	return nil
}

// hostRelease reads the state and returns the current release with an op
// that appSpec can use, as the deploying agent would have.
func hostRelease(l layout, opts ServiceHostOptions) (*op, *Release, error) {
	b, err := fslink.ReadFile(l.state())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, fmt.Errorf("read state %s: %w", l.state(), err)
	}
	r := st.find(st.Current)
	if r == nil {
		return nil, nil, nil
	}
	if r.Run == nil || len(r.Run.Start) == 0 {
		return nil, nil, fmt.Errorf("release %s records no start command (deployed by an older agent): deploy again", r.ID)
	}
	o := &op{spec: Spec{App: st.App, Environment: opts.Environment}, l: l, emit: func(Event) {}, res: &Result{}, sup: processSupervisor{}}
	return o, r, nil
}

// waitExit returns true when h exits, false when ctx ends first.
func waitExit(ctx context.Context, h proc.Handle) bool {
	t := time.NewTicker(hostPoll)
	defer t.Stop()
	for {
		if !proc.Alive(h) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// ServeService runs the service host for opts: under the Windows service
// manager when it started this process, in the foreground otherwise (until
// interrupted), which is how it is tested and how a person can watch it.
// It returns the process exit code.
func ServeService(opts ServiceHostOptions, stderr io.Writer) int {
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "ferry-agent service run: %v\n", err)
		return exitcode.Usage
	}
	root, err := ResolveRoot(opts.Root)
	if err != nil {
		fmt.Fprintf(stderr, "ferry-agent service run: %v\n", err)
		return exitcode.Usage
	}
	opts.Root = root
	os.MkdirAll(layout{root: root}.logs(), 0o755)
	return serveService(opts, &hostLog{path: serviceLogPath(root, opts.Name)}, stderr)
}
