//go:build !windows

package supervise

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// appEnv makes this test binary play an app: it runs until SIGTERM.
const appEnv = "FERRY_SUPERVISE_TEST_APP"

func TestMain(m *testing.M) {
	if os.Getenv(appEnv) == "1" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// eventually waits for cond, generously: the machine may be loaded.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := poll.Until(t.Context(), poll.Backoff{Initial: 20 * time.Millisecond, Deadline: 30 * time.Second}, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func hostFixture(t *testing.T) (Host, Spec, func() string) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	target := Target{Root: dir, Service: "ferry-app-test", PIDFile: filepath.Join(dir, "run", "app.pid"), LogDir: filepath.Join(dir, "logs")}
	spec := Spec{
		Process: proc.Spec{Argv: []string{self}, Dir: dir, Env: append(os.Environ(), appEnv+"=1"), LogPath: filepath.Join(dir, "logs", "app.log")},
		Release: "r1", StopTimeout: 5 * time.Second,
	}
	os.MkdirAll(target.LogDir, 0o755)
	log := func() string { b, _ := os.ReadFile(target.hostLogPath()); return string(b) }
	return Host{Target: target, Next: func() (Spec, bool, error) { return spec, true, nil }}, spec, log
}

// TestHostSupervises: the host replaces an app an earlier host left
// running, restarts its app when it dies, and stops it gracefully when
// its context ends.
func TestHostSupervises(t *testing.T) {
	h, spec, readLog := hostFixture(t)
	pidFile := h.Target.PIDFile
	os.MkdirAll(filepath.Dir(pidFile), 0o755)
	orphan, err := proc.Start(spec.Process)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Stop(context.Background(), orphan, time.Second) })
	if err := proc.WritePIDFile(pidFile, orphan); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.run(ctx, &hostLog{path: h.Target.hostLogPath()}) }()
	t.Cleanup(cancel)
	current := func() proc.Handle { a, _ := proc.ReadPIDFile(pidFile); return a }
	eventually(t, "the host to replace the orphan", func() bool {
		a := current()
		return a.PID != orphan.PID && proc.Alive(a)
	})
	if proc.Alive(orphan) || !strings.Contains(readLog(), "left by an earlier run") {
		t.Fatalf("the orphan was not stopped first:\n%s", readLog())
	}

	first := current()
	syscall.Kill(first.PID, syscall.SIGKILL)
	eventually(t, "the host to restart the killed app", func() bool {
		a := current()
		return a.PID != first.PID && proc.Alive(a)
	})
	if l := readLog(); !strings.Contains(l, "exited after") || !strings.Contains(l, "restarting in 1s") {
		t.Fatalf("host log:\n%s", l)
	}

	second := current()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the host ended with %v", err)
	}
	if proc.Alive(second) {
		t.Fatal("the app outlived its host's stop")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatal("the PID file names a stopped app")
	}
	if l := strings.TrimSpace(readLog()); !strings.Contains(l, "stopping release r1") || !strings.HasSuffix(l, "stopped") {
		t.Fatalf("host log:\n%s", l)
	}
}

func TestHostWithNothingToRun(t *testing.T) {
	h, _, readLog := hostFixture(t)
	h.Next = func() (Spec, bool, error) { return Spec{}, false, nil }
	if err := h.run(context.Background(), &hostLog{path: h.Target.hostLogPath()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readLog(), "nothing to run") {
		t.Fatalf("host log:\n%s", readLog())
	}
	broken := errors.New("read state: unexpected end of JSON input")
	h.Next = func() (Spec, bool, error) { return Spec{}, false, broken }
	if err := h.run(context.Background(), &hostLog{path: h.Target.hostLogPath()}); !errors.Is(err, broken) {
		t.Fatalf("a state the host cannot read must end it: %v", err)
	}
}
