//go:build !windows

package gates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

// fakeTool writes an executable shell script into dir.
func fakeTool(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func toolsPath(dir string) string {
	return dir + string(os.PathListSeparator) + "/usr/bin:/bin"
}

// TestPipAuditCommand drives the pip-audit gate end to end with a stand-in
// that prints the documented JSON and exits 1 as pip-audit does on
// findings. Each case has its own tool directory, app and configuration.
func TestPipAuditCommand(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("testdata", "fixtures", "pip-audit.json"))
	// pipAudit installs a stand-in that records its arguments in the file
	// it returns, then prints the fixture and exits 1.
	pipAudit := func(t *testing.T) (bin, args string) {
		bin, args = t.TempDir(), filepath.Join(t.TempDir(), "args")
		fakeTool(t, bin, "pip-audit", "echo \"$@\" > "+args+"\ncat "+fixture+"\nexit 1\n")
		return bin, args
	}
	run := func(t *testing.T, bin string, cfg Config) Result {
		rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "hello"), Python: "/nonexistent", Env: map[string]string{"PATH": toolsPath(bin)}})
		return gateOf(t, rep, GateAudit)
	}

	t.Run("findings", func(t *testing.T) {
		bin, argsFile := pipAudit(t)
		cfg := only(GateAudit)
		cfg.Audit.Ignore = []string{"PYSEC-2019-220"}
		g := run(t, bin, cfg)
		wantStatus(t, g, StatusFailed)
		wantFigure(t, g, "vulnerabilities", 1) // one of the two is ignored
		wantFigure(t, g, "dependencies", 4)
		if g.Tool != filepath.Join(bin, "pip-audit") {
			t.Errorf("tool %s", g.Tool)
		}
		args := string(mustRead(t, argsFile))
		for _, want := range []string{"-f json", "-r requirements.txt", "--ignore-vuln PYSEC-2019-220"} {
			wantContains(t, "pip-audit arguments", args, want)
		}
	})

	t.Run("osv_db wins", func(t *testing.T) {
		// With osv_db set, the offline audit runs even though pip-audit is there.
		bin, argsFile := pipAudit(t)
		cfg := only(GateAudit)
		cfg.Audit.OSVDB = osvDir(t)
		g := run(t, bin, cfg)
		wantStatus(t, g, StatusPassed)
		wantContains(t, "tool", g.Tool, "offline")
		if _, err := os.Stat(argsFile); err == nil {
			t.Error("pip-audit ran although osv_db is set")
		}
	})

	t.Run("no PyPI", func(t *testing.T) {
		// A pip-audit that cannot reach PyPI crashes: an error, with the way out.
		bin := t.TempDir()
		fakeTool(t, bin, "pip-audit", "echo 'ConnectionError: PyPI unreachable' >&2\nexit 1\n")
		g := run(t, bin, only(GateAudit))
		wantStatus(t, g, StatusError)
		wantContains(t, "output", g.Output, "PyPI unreachable")
		wantContains(t, "hint", g.Hint, "osv_db")
	})
}

// TestReportToolFailures drives the linters' shared run with stand-ins,
// each case with its own tool directory and app: a tool that ends without
// its report is an error naming its exit status, with the gate's hint; so
// is an exit status flake8 does not use and a report that does not parse;
// a clean flake8 that writes no file found nothing; an app without Python
// files has nothing to lint.
func TestReportToolFailures(t *testing.T) {
	writeReport := `while [ $# -gt 0 ]; do [ "$1" = -o ] && echo 'not json' > "$2"; shift; done` + "\n"
	for _, tc := range []struct {
		name, gate, script string
		empty              bool // an app without Python files
		want               Status
		summary, hint      string
	}{
		{"flake8 usage error", GateFlake8, "echo 'unknown option' >&2\nexit 2\n", false, StatusError, "flake8 exited 2", "gates.flake8.args"},
		{"flake8 crash", GateFlake8, "echo Traceback >&2\nexit 1\n", false, StatusError, "flake8 exited 1 without a report", "gates.flake8.args"},
		{"flake8 clean without a file", GateFlake8, "exit 0\n", false, StatusPassed, "no findings", ""},
		{"pylint usage error", GatePylint, "exit 32\n", false, StatusError, "pylint exited 32 without a report", "gates.pylint.args"},
		{"pylint with nothing to lint", GatePylint, "exit 0\n", true, StatusSkipped, "no Python modules to lint", ""},
		{"bandit unreadable report", GateBandit, writeReport + "exit 0\n", false, StatusError, "parse bandit report", "by hand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bin := t.TempDir()
			fakeTool(t, bin, tc.gate, tc.script)
			app := t.TempDir()
			if !tc.empty {
				app = copyProject(t, "hello")
			}
			rep := mustRun(t, only(tc.gate), Options{AppDir: app, Python: "/nonexistent", Env: map[string]string{"PATH": toolsPath(bin)}})
			g := gateOf(t, rep, tc.gate)
			wantStatus(t, g, tc.want)
			wantContains(t, "summary", g.Summary, tc.summary)
			wantContains(t, "hint", g.Hint, tc.hint)
			if tc.want == StatusError && g.Tool != filepath.Join(bin, tc.gate) {
				t.Errorf("tool %s, want the stand-in", g.Tool)
			}
		})
	}
}

func TestSafetyCommand(t *testing.T) {
	bin := t.TempDir()
	fixture, _ := filepath.Abs(filepath.Join("testdata", "fixtures", "safety-2.json"))
	fakeTool(t, bin, "safety", `[ "$1" = check ] || exit 2
cat `+fixture+`
exit 64
`)
	rep := mustRun(t, only(GateSafety), Options{AppDir: copyProject(t, "hello"), Python: "/nonexistent",
		Env: map[string]string{"PATH": toolsPath(bin)}})
	g := gateOf(t, rep, GateSafety)
	wantStatus(t, g, StatusWarned) // non-blocking by default
	wantFigure(t, g, "dependencies", 3)
	wantFigure(t, g, "vulnerabilities", 2)
	wantContains(t, "summary", g.Summary, "2 vulnerabilities in 1 of 3 dependencies")
	if !rep.Passed {
		t.Error("safety is non-blocking by default")
	}
}

func TestCustomGates(t *testing.T) {
	app := copyProject(t, "hello")
	cfg := only()
	cfg.Custom = []CustomGate{
		{Name: "ok", Command: []string{"sh", "-c", "echo fine"}},
		{Name: "bad", Command: []string{"sh", "-c", "echo 'migration 0042 is missing' >&2; exit 3"}},
		{Name: "advisory", Command: []string{"false"}, Blocking: boolPtr(false)},
		{Name: "absent", Command: []string{"ferry-no-such-tool"}},
		// Longer than mustRun's own bound: only the gate's timeout can end
		// it in time for the run to succeed.
		{Name: "slow", Command: []string{"sleep", "600"}, Timeout: 300 * time.Millisecond},
	}
	rep := mustRun(t, cfg, Options{AppDir: app, Python: "/nonexistent"})
	wantStatus(t, gateOf(t, rep, "ok"), StatusPassed)
	bad := gateOf(t, rep, "bad")
	wantStatus(t, bad, StatusFailed)
	wantFigure(t, bad, "exit_code", 3)
	wantContains(t, "output", bad.Output, "migration 0042 is missing")
	wantStatus(t, gateOf(t, rep, "advisory"), StatusWarned)
	wantStatus(t, gateOf(t, rep, "absent"), StatusMissing)
	slow := gateOf(t, rep, "slow")
	wantStatus(t, slow, StatusTimeout)
	wantContains(t, "hint", slow.Hint, "gates.slow.timeout")
	if got := strings.Join(rep.BlockingFailures(), ","); got != "bad,absent,slow" {
		t.Errorf("blocking failures %s", got)
	}
}

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	// A zombie has exited; only its parent has not reaped it yet.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return false
		}
	}
	return true
}

// TestCancelStopsGates cancels a run while custom gates sleep for an
// hour: Run must return, which only killing the sleeps allows, and the
// sleeps, including one started by a shell as a grandchild, must be gone.
func TestCancelStopsGates(t *testing.T) {
	app := copyProject(t, "hello")
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg := only()
	cfg.Parallel = 4
	cfg.Custom = []CustomGate{
		{Name: "sleep", Command: []string{"sleep", "3600"}},
		{Name: "shell", Command: []string{"sh", "-c", "sleep 3600 & echo $! > " + pidFile + "; wait"}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started = make(chan struct{}, 2)
	done := make(chan struct{})
	var rep *Report
	var err error
	go func() {
		defer close(done)
		rep, err = Run(ctx, cfg, Options{AppDir: app, Python: "/nonexistent", Progress: func(e Event) {
			if e.Kind == EventStarted {
				started <- struct{}{}
			}
		}})
	}()
	<-started
	<-started
	var pid int
	wait := poll.Backoff{Initial: 10 * time.Millisecond, Deadline: time.Minute}
	if poll.Until(context.Background(), wait, func(context.Context) (bool, error) {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return pid != 0, nil
	}) != nil {
		t.Fatal("the shell gate never started its sleep")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run has not returned a minute after cancel: the sleeps were not killed")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	if rep == nil || rep.Passed {
		t.Fatal("a cancelled run must not pass")
	}
	for _, name := range []string{"sleep", "shell"} {
		if g := gateOf(t, rep, name); g.Status != StatusError || g.Summary != "cancelled" {
			t.Errorf("%s: %s %q", name, g.Status, g.Summary)
		}
	}
	// The grandchild is reaped by init, which may take a moment.
	if poll.Until(context.Background(), wait, func(context.Context) (bool, error) { return !alive(pid), nil }) != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the shell's sleep (pid %d) survived the cancel", pid)
	}
}
