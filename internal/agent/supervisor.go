package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

// Run modes: how a release's app process is owned.
const (
	// RunProcess starts the app detached and tracks it by PID file.
	RunProcess = "process"
	// RunService hands the app to the OS service manager (a Windows
	// service hosted by ferry-agent, or a systemd unit), which restarts it
	// if it dies; the default for production.
	RunService = "service"
)

// supervisor owns the app process of a target. Deploy, rollback and
// status go through it, so the run mode is decided in one place.
type supervisor interface {
	// start runs release r and returns something to watch.
	start(o *op, r *Release) (proc.Handle, error)
	// current reports the process serving now, if any.
	current(o *op) (proc.Handle, bool)
	// stop ends what serves now (gracefully, then by force) and returns
	// once it is gone.
	stop(o *op, grace time.Duration) error
	// alive reports whether h still runs.
	alive(o *op, h proc.Handle) bool
}

// supervisorFor picks the supervisor of the spec's run mode.
func supervisorFor(runAs string) (supervisor, error) {
	switch runAs {
	case "", RunProcess:
		return processSupervisor{}, nil
	case RunService:
		if newServiceSupervisor == nil {
			return nil, fmt.Errorf("run_as: service is not supported on this platform yet")
		}
		return newServiceSupervisor(), nil
	}
	return nil, fmt.Errorf("run_as %q is not process or service", runAs)
}

// newServiceSupervisor is set by the platform's service support.
var newServiceSupervisor func() supervisor

// processSupervisor runs the app as a detached process with a PID file.
type processSupervisor struct{}

func (processSupervisor) start(o *op, r *Release) (proc.Handle, error) {
	spec, err := appSpec(o, r)
	if err != nil {
		return proc.Handle{}, err
	}
	h, err := proc.Start(spec)
	if err != nil {
		return h, err
	}
	if err := proc.WritePIDFile(o.l.pidFile(), h); err != nil {
		return h, err
	}
	return h, nil
}

func (processSupervisor) current(o *op) (proc.Handle, bool) {
	h, err := proc.ReadPIDFile(o.l.pidFile())
	if err != nil {
		return h, false
	}
	return h, proc.Alive(h)
}

func (s processSupervisor) stop(o *op, grace time.Duration) error {
	h, ok := s.current(o)
	if ok {
		if err := proc.Stop(context.Background(), h, grace); err != nil {
			return err
		}
	}
	os.Remove(o.l.pidFile())
	return nil
}

func (processSupervisor) alive(o *op, h proc.Handle) bool { return proc.Alive(h) }
