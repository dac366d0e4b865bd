package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/testapp/probe"
)

var (
	buildOnce sync.Once
	builtExe  string
	buildErr  error
)

// testapp builds this command for the host once per test binary: the tests
// run it as a real process, as the deploy engine would.
func testapp(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the Windows build is exercised under Wine by internal/proc")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "testapp-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtExe = filepath.Join(dir, "testapp")
		out, err := exec.Command("go", "build", "-o", builtExe, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build testapp: %v", buildErr)
	}
	return builtExe
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtExe != "" {
		os.RemoveAll(filepath.Dir(builtExe)) //nolint:errcheck
	}
	os.Exit(code)
}

func waitAnswer(t *testing.T, p string) (int, probe.Body) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b, err := probe.Health(p)
		if err == nil {
			return code, b
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s: %v", p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, dir string, env ...string) (proc.Handle, string) {
	t.Helper()
	log := filepath.Join(dir, "logs", "app.log")
	h, err := proc.Start(proc.Spec{Argv: []string{testapp(t)}, Dir: dir, Env: append(os.Environ(), env...), LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Stop(context.Background(), h, 0) }) //nolint:errcheck
	return h, log
}

func logOf(path string) string { b, _ := os.ReadFile(path); return string(b) }

func TestHealthContract(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("2.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := probe.FreePort(t)
	_, log := start(t, dir, "PORT="+p, "APP_VERSION=")
	code, b := waitAnswer(t, p)
	if code != 200 || b.Status != "healthy" || b.Version != "2.0.0" {
		t.Fatalf("health %d %+v; want 200 healthy 2.0.0 (VERSION file)", code, b)
	}
	if ts, err := time.Parse(time.RFC3339, b.Timestamp); err != nil || time.Since(ts) > time.Minute {
		t.Fatalf("timestamp %q: %v", b.Timestamp, err)
	}
	if !strings.Contains(logOf(log), "request GET /health") {
		t.Fatalf("request not logged: %q", logOf(log))
	}

	p2 := probe.FreePort(t)
	start(t, dir, "PORT="+p2, "APP_VERSION=3.1.4")
	if _, b := waitAnswer(t, p2); b.Version != "3.1.4" {
		t.Fatalf("APP_VERSION must win over VERSION: %+v", b)
	}
}

func TestUnhealthyAnswers503(t *testing.T) {
	p := probe.FreePort(t)
	start(t, t.TempDir(), "PORT="+p, "TESTAPP_FAIL=unhealthy")
	if code, b := waitAnswer(t, p); code != http.StatusServiceUnavailable || b.Status != "unhealthy" {
		t.Fatalf("health %d %+v; want 503 unhealthy", code, b)
	}
}

func TestFailExitCode3(t *testing.T) {
	cmd := exec.Command(testapp(t))
	cmd.Env = append(os.Environ(), "TESTAPP_FAIL=exit")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("TESTAPP_FAIL=exit: %v, want exit status 3", err)
	}
}

func TestStopIsGraceful(t *testing.T) {
	p := probe.FreePort(t)
	h, log := start(t, t.TempDir(), "PORT="+p)
	waitAnswer(t, p)
	if err := proc.Stop(context.Background(), h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if l := logOf(log); !strings.Contains(l, "stopping (signal") || !strings.Contains(l, "stopped") {
		t.Fatalf("no graceful stop in the log:\n%s", l)
	}
}

func TestIgnoringAppAndChildAreKilled(t *testing.T) {
	p, cp := probe.FreePort(t), probe.FreePort(t)
	h, log := start(t, t.TempDir(), "PORT="+p, "TESTAPP_IGNORE_SIGNALS=1", "TESTAPP_CHILD=1", "TESTAPP_CHILD_PORT="+cp)
	if _, b := waitAnswer(t, p); b.ChildPID == 0 {
		t.Fatalf("no child reported: %+v", b)
	}
	if _, b := waitAnswer(t, cp); b.Status != "child" {
		t.Fatalf("child health %+v", b)
	}
	t0 := time.Now()
	if err := proc.Stop(context.Background(), h, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(t0) < 500*time.Millisecond {
		t.Fatal("an app ignoring the stop request ended before the grace period")
	}
	if !strings.Contains(logOf(log), "ignoring signal") {
		t.Fatalf("the app did not see (and ignore) the request:\n%s", logOf(log))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, err := probe.Health(cp); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child survived Stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
