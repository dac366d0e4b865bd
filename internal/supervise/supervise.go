// Package supervise owns the app process of a target: it starts a
// release's app, says what serves now, and stops it. The agent decides
// what to run (a Spec: the release's command, directory, environment, log)
// and when; a Supervisor decides how, according to the run mode:
//
//   - process: the app runs detached, recorded in a PID file (package proc).
//   - service: the operating system's service manager owns it and restarts
//     it when it dies. On Windows that is a service whose program is
//     ferry-agent itself, run as `ferry-agent service run` (Host); on Linux
//     a systemd unit whose ExecStart is the release's own command.
//
// The package is standard library and golang.org/x/sys only: ferry-agent
// uses it.
package supervise

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

// Run modes: who owns a release's app process.
const (
	// Process starts the app detached and tracks it by PID file.
	Process = "process"
	// Service hands the app to the operating system's service manager,
	// which restarts it if it dies and starts it at boot; the mode for
	// production.
	Service = "service"
)

// DefaultStopTimeout is the grace an app gets to stop when its release
// asked for none.
const DefaultStopTimeout = 10 * time.Second

// Target is one app in one environment on this machine, as a supervisor
// sees it: where its files go and what its service is called. The agent,
// which knows the deployment root's layout, fills it in.
type Target struct {
	// Root is the deployment root; a Windows service names it on its
	// command line.
	Root string
	// App and Environment name the app, for descriptions.
	App         string
	Environment string
	// Service names the Windows service, or the systemd unit without
	// ".service" (see ServiceName).
	Service string
	// PIDFile records the app process: process mode writes it, and so does
	// the Windows service host for every app it starts.
	PIDFile string
	// RunDir holds files only the supervisor reads, such as a unit's
	// environment file.
	RunDir string
	// BinDir holds the copies of ferry-agent that Windows services run.
	BinDir string
	// LogDir holds the service host's own log.
	LogDir string
	// Warn receives what a person should know that did not fail; nil
	// discards it.
	Warn func(string)
}

// ServiceName names the Windows service or the systemd unit (plus
// ".service") of app in env. The agent's spec validation keeps both parts
// to [A-Za-z0-9_.-], which both service managers accept.
func ServiceName(app, env string) string {
	if env == "" {
		return "ferry-" + app
	}
	return "ferry-" + app + "-" + env
}

// Spec is how one release's app runs.
type Spec struct {
	// Process is the app as process mode starts it: program and arguments,
	// working directory, complete environment (the agent's own with the
	// app's on top), log file.
	Process proc.Spec
	// Release names the release, in descriptions and logs.
	Release string
	// StopTimeout is the grace between asking the app to stop and killing
	// it.
	StopTimeout time.Duration
	// Own holds the variables ferry sets for the app (FERRY_SHA, the venv's
	// PATH…), none secret. A supervisor whose app does not inherit the
	// agent's environment (systemd) passes these in the open.
	Own map[string]string
	// Vars holds the app's own variables (its env file's and its
	// configured ones), which may be secret: such a supervisor passes them
	// in a file only root reads. Own wins over them.
	Vars map[string]string
}

// Supervisor owns the app process of one target. Deploy, rollback and
// status go through it, so the run mode is decided in one place.
type Supervisor interface {
	// Start runs the app spec describes and returns the process to watch.
	// In process mode whatever served must have been stopped first; a
	// service replaces it.
	Start(ctx context.Context, spec Spec) (proc.Handle, error)
	// Current reports the app process serving now, if any.
	Current(ctx context.Context) (proc.Handle, bool)
	// Stop ends what serves now, gracefully within grace, then by force,
	// and returns once it is gone.
	Stop(ctx context.Context, grace time.Duration) error
}

// New returns the supervisor of mode ("" is process) for t.
func New(mode string, t Target) (Supervisor, error) {
	switch mode {
	case "", Process:
		return t.process(), nil
	case Service:
		return newService(t)
	}
	return nil, fmt.Errorf("run_as %q is not process or service", mode)
}

// processSupervisor runs the app as a detached process with a PID file.
type processSupervisor struct{ t Target }

// process is t's process-mode supervisor, which the service supervisors
// also use for what process mode may have left running.
func (t Target) process() processSupervisor { return processSupervisor{t} }

func (s processSupervisor) Start(_ context.Context, spec Spec) (proc.Handle, error) {
	h, err := proc.Start(spec.Process)
	if err != nil {
		return h, err
	}
	if err := proc.WritePIDFile(s.t.PIDFile, h); err != nil {
		return h, err
	}
	return h, nil
}

func (s processSupervisor) Current(context.Context) (proc.Handle, bool) {
	h, err := proc.ReadPIDFile(s.t.PIDFile)
	if err != nil {
		return h, false
	}
	return h, proc.Alive(h)
}

func (s processSupervisor) Stop(ctx context.Context, grace time.Duration) error {
	if h, ok := s.Current(ctx); ok {
		if err := proc.Stop(ctx, h, grace); err != nil {
			return err
		}
	}
	os.Remove(s.t.PIDFile)
	return nil
}
