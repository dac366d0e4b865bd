//go:build unix

package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

// eventually polls cond until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestServiceHostSupervises runs the service host (`ferry-agent service
// run`, what a Windows service executes) in the foreground on Linux: it
// runs state.json's current release with that release's recorded command,
// restarts it when it dies, stops an app a crashed host left behind, and
// stops the app gracefully when asked to stop.
func TestServiceHostSupervises(t *testing.T) {
	s := newSite(t)
	base := s.git("rev-parse", "HEAD")
	if r := runAgent(t, s.spec("apply", base)); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	pidFile := filepath.Join(s.root, "run", "app.pid")
	deployed, err := proc.ReadPIDFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	hostLog := filepath.Join(s.root, "shared", "logs", "service-ferry-app-test.log")
	startHost := func() *exec.Cmd {
		cmd := exec.Command(agentBin, "service", "run", "--root", s.root, "--name", "ferry-app-test", "--environment", "test")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	// The process-mode app is still running: the host must stop it (it
	// owns the port) rather than start a second one.
	host := startHost()
	if !eventually(20*time.Second, func() bool {
		h, err := proc.ReadPIDFile(pidFile)
		return err == nil && h.PID != deployed.PID && s.health() == base
	}) {
		t.Fatalf("the host did not take over from the running app:\n%s", readFile(hostLog))
	}
	if proc.Alive(deployed) {
		t.Fatal("the app the host found running is still alive")
	}
	if !strings.Contains(readFile(hostLog), "left by an earlier run") {
		t.Fatalf("host log:\n%s", readFile(hostLog))
	}

	// The app dies: the host restarts it after its backoff.
	first, _ := proc.ReadPIDFile(pidFile)
	syscall.Kill(first.PID, syscall.SIGKILL)
	if !eventually(20*time.Second, func() bool {
		h, err := proc.ReadPIDFile(pidFile)
		return err == nil && h.PID != first.PID && proc.Alive(h) && s.health() == base
	}) {
		t.Fatalf("the host did not restart the app:\n%s", readFile(hostLog))
	}
	if log := readFile(hostLog); !strings.Contains(log, "exited after") || !strings.Contains(log, "restarting in 1s") {
		t.Fatalf("host log:\n%s", log)
	}

	// The host is killed: its app lives on; a new host replaces it.
	second, _ := proc.ReadPIDFile(pidFile)
	host.Process.Kill()
	host.Wait()
	if !proc.Alive(second) || s.health() != base {
		t.Fatal("the app died with its host")
	}
	host = startHost()
	if !eventually(20*time.Second, func() bool {
		h, err := proc.ReadPIDFile(pidFile)
		return err == nil && h.PID != second.PID && proc.Alive(h) && s.health() == base
	}) {
		t.Fatalf("the new host did not replace the orphan:\n%s", readFile(hostLog))
	}
	if proc.Alive(second) {
		t.Fatal("the orphaned app still runs beside the new one")
	}

	// Stopping the service stops the app, then the host exits 0.
	third, _ := proc.ReadPIDFile(pidFile)
	host.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- host.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("host exit: %v\n%s", err, readFile(hostLog))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the host did not stop")
	}
	if proc.Alive(third) || s.health() != "" {
		t.Fatal("the app outlived the stopped service")
	}
	if _, err := os.Stat(pidFile); err == nil {
		t.Fatal("the PID file names a stopped app")
	}
	if log := readFile(hostLog); !strings.Contains(log, "stopping release") || !strings.HasSuffix(strings.TrimSpace(log), "stopped") {
		t.Fatalf("host log:\n%s", log)
	}

	// Bad command lines are refused before anything runs.
	for _, args := range [][]string{
		{"service", "run", "--root", "relative", "--name", "x"},
		{"service", "run", "--root", s.root, "--name", "a b"},
		{"service", "run", "--root", s.root},
		{"service", "start"},
	} {
		cmd := exec.Command(agentBin, args...)
		if err := cmd.Run(); cmd.ProcessState.ExitCode() != 2 {
			t.Errorf("%q: exit %d (%v), want 2", args, cmd.ProcessState.ExitCode(), err)
		}
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
