package gates

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// These tests run the real tools (Debian's pytest, pytest-cov, flake8,
// pylint, bandit, pip) on the projects in testdata/projects.

func osvDir(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "osv"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCleanProjectPassesEveryGate(t *testing.T) {
	t.Parallel()
	py := needEveryTool(t)
	dir := copyProject(t, "hello")
	cfg := Config{
		Tests:  TestsGate{CoverageMin: 80},
		Audit:  AuditGate{OSVDB: osvDir(t)},
		Safety: SafetyGate{Enabled: boolPtr(false)},
		Env:    EnvGate{Required: []string{"APP_SECRET_KEY"}},
		// Debian's system site-packages has conflicts of its own; the deps
		// gate is proven on a virtualenv in TestDepsGate.
		Deps: DepsGate{Enabled: boolPtr(false)},
	}
	var events []Event
	rep := mustRun(t, cfg, Options{
		AppDir: dir, Python: py, Start: "gunicorn app:application",
		Env:      map[string]string{"APP_SECRET_KEY": "do-not-print-me"},
		Progress: func(e Event) { events = append(events, e) },
	})
	var buf bytes.Buffer
	_ = WriteTerminal(&buf, rep, false)
	if !rep.Passed {
		t.Fatalf("clean project failed:\n%s", buf.String())
	}

	tests := gateOf(t, rep, GateTests)
	wantStatus(t, tests, StatusPassed)
	wantFigure(t, tests, "passed", 2)
	wantFigure(t, tests, "failed", 0)
	if c := tests.Figures["coverage"]; c < 80 || c >= 100 {
		t.Errorf("coverage %.1f, want between 80 and 100 (main() is not tested)", c)
	}
	if len(tests.Tests) != 2 || tests.Tests[0].Name != "test_health" || tests.Tests[0].Classname != "test_app" {
		t.Errorf("pytest cases not carried over: %+v", tests.Tests)
	}

	audit := gateOf(t, rep, GateAudit)
	wantStatus(t, audit, StatusPassed)
	wantFigure(t, audit, "dependencies", 1)
	wantFigure(t, audit, "vulnerabilities", 0)

	flake8 := gateOf(t, rep, GateFlake8)
	wantStatus(t, flake8, StatusPassed)
	wantFigure(t, flake8, "findings", 0)

	pylint := gateOf(t, rep, GatePylint)
	wantStatus(t, pylint, StatusPassed)
	wantFigure(t, pylint, "score", 10)

	bandit := gateOf(t, rep, GateBandit)
	wantStatus(t, bandit, StatusPassed)
	wantFigure(t, bandit, "high", 0)
	wantFigure(t, bandit, "medium", 0)

	smoke := gateOf(t, rep, GateSmoke)
	wantStatus(t, smoke, StatusPassed)
	wantFigure(t, smoke, "modules", 1)
	if smoke.Tests[0].Name != "import app" {
		t.Errorf("smoke imported %q, want the start command's module app", smoke.Tests[0].Name)
	}

	wantStatus(t, gateOf(t, rep, GateEnv), StatusPassed)
	wantStatus(t, gateOf(t, rep, GateSafety), StatusSkipped)
	wantStatus(t, gateOf(t, rep, GateDeps), StatusSkipped)

	// Seven gates ran: each started and finished once.
	started, finished := 0, 0
	for _, e := range events {
		switch e.Kind {
		case EventStarted:
			started++
		case EventFinished:
			finished++
			if e.Result == nil || e.Result.Status == "" {
				t.Errorf("finished event for %s without a result", e.Gate)
			}
		}
	}
	if started != 7 || finished != 7 {
		t.Errorf("progress: %d started, %d finished; want 7 and 7", started, finished)
	}
}

func TestFailingTest(t *testing.T) {
	t.Parallel()
	py := testPython(t)
	rep := mustRun(t, only(GateTests), Options{AppDir: copyProject(t, "failing_test"), Python: py})
	g := gateOf(t, rep, GateTests)
	wantStatus(t, g, StatusFailed)
	wantFigure(t, g, "passed", 2)
	wantFigure(t, g, "failed", 1)
	wantFigure(t, g, "skipped", 1)
	wantFigure(t, g, "errors", 0)
	wantContains(t, "summary", g.Summary, "2 passed, 1 failed, 1 skipped")
	var failed *TestCase
	for i := range g.Tests {
		if g.Tests[i].Status == CaseFailed {
			failed = &g.Tests[i]
		}
	}
	if failed == nil || failed.Name != "test_version_is_released" {
		t.Fatalf("failing case not reported: %+v", g.Tests)
	}
	wantContains(t, "failure message", failed.Message, "AssertionError")
	if rep.Passed || !g.Blocks() {
		t.Error("a failing test must fail the run")
	}
}

func TestCoverageBelowMinimum(t *testing.T) {
	t.Parallel()
	py := testPython(t)
	cfg := only(GateTests)
	cfg.Tests.CoverageMin = 90
	rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "low_coverage"), Python: py})
	g := gateOf(t, rep, GateTests)
	wantStatus(t, g, StatusFailed)
	wantFigure(t, g, "passed", 2)
	wantFigure(t, g, "failed", 0)
	wantFigure(t, g, "coverage_min", 90)
	// 35 of 52 lines run: report() and export() are never called.
	if c := g.Figures["coverage"]; math.Abs(c-100*35.0/52.0) > 0.01 {
		t.Errorf("coverage %.2f, want %.2f", c, 100*35.0/52.0)
	}
	wantContains(t, "summary", g.Summary, "below 90%")
	wantContains(t, "hint", g.Hint, "coverage_min")
	if rep.Passed {
		t.Error("coverage below the minimum must fail the run")
	}
}

func TestFlake8Findings(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "flake8")
	rep := mustRun(t, only(GateFlake8), Options{AppDir: copyProject(t, "flake8_error"), Python: testPython(t)})
	g := gateOf(t, rep, GateFlake8)
	wantStatus(t, g, StatusFailed)
	wantFigure(t, g, "findings", 2)
	wantFigure(t, g, "f", 1)
	wantFigure(t, g, "e", 1)
	f, ok := findRule(g, "F401")
	if !ok || f.File != "app.py" || f.Line != 5 || f.Column != 1 {
		t.Errorf("F401 finding = %+v, want app.py:5:1", f)
	}
	wantContains(t, "F401 message", f.Message, "'sys' imported but unused")
	if f, ok := findRule(g, "E225"); !ok || f.Line != 35 || f.Column != 6 {
		t.Errorf("E225 finding = %+v, want app.py:35:6", f)
	}
	checkSARIF(t, rep)
}

func TestBanditHighSeverity(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "bandit")
	t.Run("non-blocking by default", func(t *testing.T) {
		// The finding warns; the run passes.
		t.Parallel()
		rep := mustRun(t, only(GateBandit), Options{AppDir: copyProject(t, "bandit_high"), Python: testPython(t)})
		g := gateOf(t, rep, GateBandit)
		wantStatus(t, g, StatusWarned)
		wantFigure(t, g, "high", 1)
		wantFigure(t, g, "failing", 1)
		f, ok := findRule(g, "B602")
		if !ok || f.File != "app.py" || f.Line != 28 || f.Severity != "HIGH" || f.Level != "error" {
			t.Errorf("B602 finding = %+v, want HIGH at app.py:28", f)
		}
		if !rep.Passed {
			t.Error("a non-blocking gate must not fail the run")
		}
		checkSARIF(t, rep)
	})
	t.Run("blocking, severity high", func(t *testing.T) {
		// The same finding fails the run.
		t.Parallel()
		cfg := only(GateBandit)
		cfg.Bandit.Blocking = boolPtr(true)
		cfg.Bandit.Severity = "high"
		rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "bandit_high"), Python: testPython(t)})
		wantStatus(t, gateOf(t, rep, GateBandit), StatusFailed)
		if rep.Passed {
			t.Error("a blocking bandit gate with a high finding must fail the run")
		}
	})
}

func TestPylintScore(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "pylint")
	cfg := only(GatePylint)
	cfg.Pylint.MinScore = 9.9
	rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "flake8_error"), Python: testPython(t)})
	g := gateOf(t, rep, GatePylint)
	wantStatus(t, g, StatusWarned)
	// One warning (unused import) in 39 statements: 10 - 1/39*10.
	want := 10 - 10.0/39
	if s := g.Figures["score"]; math.Abs(s-want) > 0.005 {
		t.Errorf("score %.4f, want %.4f", s, want)
	}
	wantFigure(t, g, "warning", 1)
	f, ok := findRule(g, "W0611")
	if !ok || f.RuleName != "unused-import" || f.Line != 5 || f.File != "app.py" {
		t.Errorf("W0611 finding = %+v", f)
	}
	wantContains(t, "summary", g.Summary, "score 9.74/10 (min 9.90)")
}

func TestSmokeImportError(t *testing.T) {
	t.Parallel()
	rep := mustRun(t, only(GateSmoke), Options{AppDir: copyProject(t, "import_error"), Python: testPython(t)})
	g := gateOf(t, rep, GateSmoke)
	wantStatus(t, g, StatusFailed)
	wantFigure(t, g, "modules", 1)
	wantFigure(t, g, "failed", 1)
	f, ok := findRule(g, "ModuleNotFoundError")
	if !ok || f.File != "app.py" || f.Line != 7 {
		t.Errorf("finding = %+v, want ModuleNotFoundError at app.py:7", f)
	}
	wantContains(t, "message", f.Message, "ferry_missing_dependency")
	if len(g.Tests) != 1 || g.Tests[0].Status != CaseFailed {
		t.Errorf("smoke cases = %+v", g.Tests)
	}
	if rep.Passed {
		t.Error("an import error must fail the run")
	}
}

func TestEnvMissingVariableNeverPrintsValues(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-9f2c"
	cfg := only(GateEnv)
	cfg.Env.Required = []string{"FERRY_TEST_DATABASE_URL", "FERRY_TEST_SECRET_KEY", "FERRY_TEST_EMPTY"}
	rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "hello"), Python: testPython(t),
		Env: map[string]string{"FERRY_TEST_SECRET_KEY": secret, "FERRY_TEST_EMPTY": ""}})
	g := gateOf(t, rep, GateEnv)
	wantStatus(t, g, StatusFailed)
	wantFigure(t, g, "required", 3)
	wantFigure(t, g, "missing", 2)
	wantContains(t, "summary", g.Summary, "FERRY_TEST_DATABASE_URL, FERRY_TEST_EMPTY")
	if strings.Contains(g.Summary, "FERRY_TEST_SECRET_KEY") {
		t.Errorf("present variable reported missing: %s", g.Summary)
	}
	for name, write := range reportWriters() {
		var buf bytes.Buffer
		if err := write(&buf, rep); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), secret) {
			t.Errorf("%s report prints the variable's value", name)
		}
	}
}

// makeVenv makes a real virtualenv with pip, from the interpreter that has
// the venv module (Debian's python3-venv).
func makeVenv(t *testing.T, base string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "venv")
	out, err := exec.Command(base, "-m", "venv", dir).CombinedOutput()
	if err != nil {
		testtool.Missing(t, "python3 -m venv with ensurepip ("+strings.TrimSpace(string(out))+")")
	}
	return filepath.Join(dir, venvBinDir, "python")
}

func pipInstall(t *testing.T, python, wheels string, names ...string) {
	t.Helper()
	args := append([]string{"-m", "pip", "install", "--no-deps", "--no-index", "--find-links", wheels, "-q"}, names...)
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(), "PIP_FIND_LINKS=", "PIP_DISABLE_PIP_VERSION_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip install %v: %v\n%s", names, err, out)
	}
}

func TestDepsGate(t *testing.T) {
	t.Parallel()
	base := testPython(t)
	wheels := t.TempDir()
	for _, w := range []testwheel.Wheel{
		{Name: "ferry-alpha", Version: "1.0", Requires: []string{"ferry-beta>=2"}},
		{Name: "ferry-beta", Version: "1.0"},
	} {
		if _, err := w.Write(wheels); err != nil {
			t.Fatal(err)
		}
	}
	// Each case installs into a virtualenv of its own.
	t.Run("consistent", func(t *testing.T) {
		// Only beta: nothing is broken.
		t.Parallel()
		py := makeVenv(t, base)
		pipInstall(t, py, wheels, "ferry-beta")
		g := gateOf(t, mustRun(t, only(GateDeps), Options{AppDir: copyProject(t, "hello"), Python: py}), GateDeps)
		wantStatus(t, g, StatusPassed)
		wantFigure(t, g, "problems", 0)
	})
	t.Run("broken", func(t *testing.T) {
		// alpha needs beta>=2 but beta 1.0 is installed.
		t.Parallel()
		py := makeVenv(t, base)
		pipInstall(t, py, wheels, "ferry-beta", "ferry-alpha")
		rep := mustRun(t, only(GateDeps), Options{AppDir: copyProject(t, "hello"), Python: py})
		g := gateOf(t, rep, GateDeps)
		wantStatus(t, g, StatusFailed)
		wantFigure(t, g, "problems", 1)
		if len(g.Findings) != 1 || g.Findings[0].Rule != "ferry-alpha" {
			t.Fatalf("findings = %+v, want one for ferry-alpha", g.Findings)
		}
		wantContains(t, "finding", g.Findings[0].Message, "ferry-beta>=2")
		if rep.Passed {
			t.Error("a broken requirement must fail the run")
		}
	})
}

// TestVenvToolsAndFallback proves the lookup order on a real virtualenv:
// a tool the venv has is used from the venv, one it lacks comes from PATH.
func TestVenvToolsAndFallback(t *testing.T) {
	t.Parallel()
	base := testPython(t)
	flake8 := testtool.Need(t, "flake8")
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(base, "-m", "venv", "--without-pip", "--system-site-packages", venv).CombinedOutput(); err != nil {
		testtool.Missing(t, "python3 -m venv ("+strings.TrimSpace(string(out))+")")
	}
	py := filepath.Join(venv, venvBinDir, "python")
	// A venv-local "flake8" that reports one finding in flake8's format.
	script := "#!/bin/sh\nfor a; do case $a in --output-file=*) f=${a#--output-file=};; esac; done\n" +
		"printf './app.py\\t1\\t1\\tX100\\tvenv flake8 was used\\n' > \"$f\"\nexit 1\n"
	if err := os.WriteFile(filepath.Join(venv, venvBinDir, "flake8"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := copyProject(t, "hello")
	rep := mustRun(t, only(GateFlake8, GateTests), Options{AppDir: dir, Python: py})
	g := gateOf(t, rep, GateFlake8)
	if _, ok := findRule(g, "X100"); !ok || g.Tool != filepath.Join(venv, venvBinDir, "flake8") {
		t.Errorf("flake8 was not taken from the venv: tool %s, findings %+v (PATH has %s)", g.Tool, g.Findings, flake8)
	}
	// The venv sees Debian's pytest through system site-packages.
	tests := gateOf(t, rep, GateTests)
	wantStatus(t, tests, StatusPassed)
	wantContains(t, "tool", tests.Tool, py+" -m pytest")
}

func TestReportsOnRealRun(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "flake8")
	rep := mustRun(t, only(GateFlake8, GateTests, GateSmoke), Options{AppDir: copyProject(t, "failing_test"), Python: testPython(t)})
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, rep); err != nil {
		t.Fatal(err)
	}
	suites := parseJUnitSuites(t, buf.Bytes())
	tests := suites["tests"]
	if tests.Tests != 5 || tests.Failures != 2 || tests.Skipped != 1 {
		// four pytest cases plus the gate's verdict case
		t.Errorf("tests suite: %d tests, %d failures, %d skipped; want 5, 2, 1", tests.Tests, tests.Failures, tests.Skipped)
	}
	if s := suites["smoke"]; s.Tests != 2 || s.Failures != 0 {
		t.Errorf("smoke suite: %+v", s)
	}
	buf.Reset()
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["passed"] != false {
		t.Errorf("json passed = %v", doc["passed"])
	}
}

// TestPytestFromPath: an interpreter without pytest (like the pyenv python3
// first on a developer's PATH) falls back to the pytest on PATH, and
// coverage still works when that pytest's own interpreter has pytest-cov.
func TestPytestFromPath(t *testing.T) {
	t.Parallel()
	base := testPython(t)
	pytest := testtool.Need(t, "pytest")
	venv := filepath.Join(t.TempDir(), "bare")
	if out, err := exec.Command(base, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		testtool.Missing(t, "python3 -m venv ("+strings.TrimSpace(string(out))+")")
	}
	py := filepath.Join(venv, venvBinDir, "python")
	cfg := only(GateTests)
	cfg.Tests.CoverageMin = 50
	rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "hello"), Python: py,
		Env: map[string]string{"PATH": filepath.Dir(pytest)}})
	g := gateOf(t, rep, GateTests)
	wantStatus(t, g, StatusPassed)
	if g.Tool != pytest {
		t.Errorf("tool %s, want %s", g.Tool, pytest)
	}
	wantFigure(t, g, "passed", 2)
	if _, ok := g.Figures["coverage"]; !ok {
		t.Errorf("no coverage from the PATH pytest: %s", g.Summary)
	}
}
