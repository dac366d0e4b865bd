//go:build linux

package agent

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
	"github.com/ferryhq/ferry/internal/proc"
)

func init() {
	newServiceSupervisor = func() supervisor { return systemdService{} }
}

// systemdService runs releases as a systemd unit (see service_systemd.go):
// systemd starts the app at boot, restarts it on failure and stops it with
// SIGTERM, then SIGKILL after stop_timeout. The agent only writes the
// unit and calls systemctl, always with an argument vector.
type systemdService struct{}

// systemctlTimeout bounds one systemctl call; stop waits for the app, so
// its bound adds the grace.
const systemctlTimeout = 90 * time.Second

func unitFile(o *op) (name, path string) {
	name = serviceName(o.spec.App, o.spec.Environment) + ".service"
	return name, filepath.Join(systemdUnitDir(), name)
}

func (systemdService) start(o *op, r *Release) (proc.Handle, error) {
	name, path := unitFile(o)
	envFile := filepath.Join(o.l.run(), strings.TrimSuffix(name, ".service")+".env")
	u, vars, err := unitFor(o, r, envFile)
	if err != nil {
		return proc.Handle{}, err
	}
	if u.EnvFile != "" {
		if err := writePrivate(envFile, renderEnvFile(vars)); err != nil {
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
	if err := (processSupervisor{}).stop(o, o.stopTimeoutOf(r)); err != nil {
		return proc.Handle{}, err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", name}, {"restart", name}} {
		if _, err := systemctl(args...); err != nil {
			return proc.Handle{}, err
		}
	}
	// Type=exec: restart returns once the program runs. A unit that is
	// not active with a main PID right after has already exited.
	deadline := time.Now().Add(2 * time.Second)
	for {
		pid, state, err := unitState(name)
		if err != nil {
			return proc.Handle{}, err
		}
		if state == "active" && pid > 0 {
			return proc.Handle{PID: pid, StartTime: proc.StartTimeOf(pid), Started: time.Now().UTC(), Argv: u.Argv}, nil
		}
		if time.Now().After(deadline) {
			return proc.Handle{}, fmt.Errorf("unit %s is %s right after its start: the app exited; see %s and journalctl -u %s", name, state, u.LogPath, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (systemdService) current(o *op) (proc.Handle, bool) {
	name, path := unitFile(o)
	if _, err := os.Stat(path); err == nil {
		if pid, state, err := unitState(name); err == nil && pid > 0 && (state == "active" || state == "reloading") {
			return proc.Handle{PID: pid, StartTime: proc.StartTimeOf(pid)}, true
		}
	}
	return processSupervisor{}.current(o)
}

func (systemdService) stop(o *op, grace time.Duration) error {
	name, path := unitFile(o)
	if _, err := os.Stat(path); err == nil {
		// systemctl stop returns once the unit is stopped: SIGTERM, then
		// SIGKILL after the unit's TimeoutStopSec.
		if _, err := systemctl("stop", name); err != nil {
			return err
		}
	}
	return processSupervisor{}.stop(o, grace)
}

func (systemdService) alive(o *op, h proc.Handle) bool { return proc.Alive(h) }

// unitState asks systemd for the unit's main PID and state.
func unitState(name string) (int, string, error) {
	out, err := systemctl("show", "-p", "MainPID,ActiveState", name)
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
func systemctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), systemctlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", errors.New("run_as: service needs systemd, and systemctl is not on PATH")
		}
		return "", fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// writePrivate replaces path atomically with content only its owner reads.
func writePrivate(path, content string) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
