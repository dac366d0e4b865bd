//go:build linux

package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// systemdService runs releases as a systemd unit (see systemd_linux.go):
// systemd starts the app at boot, restarts it on failure and stops it with
// SIGTERM, then SIGKILL after the stop timeout. The agent only writes the
// unit and calls systemctl, always with an argument vector.
type systemdService struct{ t Target }

func newService(t Target) (Supervisor, error) { return systemdService{t}, nil }

// systemctlTimeout bounds one systemctl call; stop waits for the app, so
// its bound adds the grace.
const systemctlTimeout = 90 * time.Second

// unit names the target's unit and where its file goes.
func (s systemdService) unit() (name, path string) {
	name = s.t.Service + ".service"
	return name, filepath.Join(systemdUnitDir(), name)
}

func (s systemdService) Start(ctx context.Context, spec Spec) (proc.Handle, error) {
	name, path := s.unit()
	envFile := filepath.Join(s.t.RunDir, s.t.Service+".env")
	u, vars, err := s.t.systemdUnit(spec, envFile)
	if err != nil {
		return proc.Handle{}, err
	}
	if u.EnvFile != "" {
		if err := fslink.WriteFile(envFile, []byte(renderEnvFile(vars)), 0o600); err != nil {
			return proc.Handle{}, err
		}
	} else {
		os.Remove(envFile)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return proc.Handle{}, fmt.Errorf("unit directory: %w", err)
	}
	if err := fslink.WriteFile(path, []byte(u.render()), 0o644); err != nil {
		return proc.Handle{}, err
	}
	// An app process mode started before the switch to service mode.
	if err := s.t.process().Stop(ctx, spec.StopTimeout); err != nil {
		return proc.Handle{}, err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", name}, {"restart", name}} {
		if _, err := systemctl(ctx, args...); err != nil {
			return proc.Handle{}, err
		}
	}
	// Type=exec: restart returns once the program runs. A unit that is
	// not active with a main PID right after has already exited.
	var pid int
	var state string
	err = poll.Until(ctx, poll.Backoff{Initial: 50 * time.Millisecond, Deadline: 2 * time.Second}, func(ctx context.Context) (bool, error) {
		var err error
		pid, state, err = unitState(ctx, name)
		return err == nil && state == "active" && pid > 0, err
	})
	switch {
	case err == nil:
		return proc.Handle{PID: pid, StartTime: proc.StartTimeOf(pid), Started: time.Now().UTC(), Argv: u.Argv}, nil
	case errors.Is(err, poll.ErrDeadline):
		return proc.Handle{}, fmt.Errorf("unit %s is %s right after its start: the app exited; see %s and journalctl -u %s", name, state, u.LogPath, name)
	default:
		return proc.Handle{}, err
	}
}

func (s systemdService) Current(ctx context.Context) (proc.Handle, bool) {
	name, path := s.unit()
	if _, err := os.Stat(path); err == nil {
		if pid, state, err := unitState(ctx, name); err == nil && pid > 0 && (state == "active" || state == "reloading") {
			return proc.Handle{PID: pid, StartTime: proc.StartTimeOf(pid)}, true
		}
	}
	return s.t.process().Current(ctx)
}

func (s systemdService) Stop(ctx context.Context, grace time.Duration) error {
	name, path := s.unit()
	if _, err := os.Stat(path); err == nil {
		// systemctl stop returns once the unit is stopped: SIGTERM, then
		// SIGKILL after the unit's TimeoutStopSec.
		if _, err := systemctl(ctx, "stop", name); err != nil {
			return err
		}
	}
	return s.t.process().Stop(ctx, grace)
}

// unitState asks systemd for the unit's main PID and state.
func unitState(ctx context.Context, name string) (int, string, error) {
	out, err := systemctl(ctx, "show", "-p", "MainPID,ActiveState", name)
	if err != nil {
		return 0, "", err
	}
	pid, state := 0, ""
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "MainPID":
			pid, _ = strconv.Atoi(v)
		case "ActiveState":
			state = v
		}
	}
	if state == "" {
		return 0, "", fmt.Errorf("systemctl show %s printed no ActiveState: %q", name, out)
	}
	return pid, state, nil
}

// systemctl runs systemctl with args (never a shell) and returns its
// standard output.
func systemctl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, systemctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Like every child of the agent: never outliving it (proc.Run).
	err := proc.Run(ctx, cmd)
	out := stdout.String()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", errors.New("run_as: service needs systemd, and systemctl is not on PATH")
		}
		return "", fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
