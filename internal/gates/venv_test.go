package gates

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// fakePipAudit is a pip_audit module for the app's venv: it records which
// interpreter ran it and with what, then answers as pip-audit does.
const fakePipAudit = `import json, os, sys
with open(os.environ["FERRY_TEST_PIP_AUDIT_LOG"], "w", encoding="utf-8") as f:
    json.dump({"executable": sys.executable, "prefix": sys.prefix, "argv": sys.argv[1:]}, f)
print(json.dumps({"dependencies": [{"name": "ferry-venvonly", "version": "1.0", "vulns": []}], "fixes": []}))
`

// venvApp copies the venvapp project and gives it its own .venv: a real
// virtualenv with system site-packages (so Debian's pytest, linters and
// pip are importable in it, as on a build server) into which pip installs
// ferry-venvonly, the app's dependency, which nothing else has and whose
// own requirement is missing, and a stand-in pip_audit. It returns the
// app directory and the venv's interpreter.
func venvApp(t *testing.T) (dir, python string) {
	t.Helper()
	base := testPython(t)
	dir = copyProject(t, "venvapp")
	venv := filepath.Join(dir, ".venv")
	if out, err := exec.Command(base, "-m", "venv", "--system-site-packages", "--without-pip", venv).CombinedOutput(); err != nil {
		testtool.Missing(t, "python3 -m venv ("+strings.TrimSpace(string(out))+")")
	}
	wheels := t.TempDir()
	for _, w := range []testwheel.Wheel{
		{Name: "ferry-venvonly", Version: "1.0", Requires: []string{"ferry-absent>=1"},
			Files: map[string]string{"ferry_venvonly/__init__.py": "GREETING = 'hello from the venv'\n"}},
		// Its unused import would be a flake8 finding, should flake8 walk
		// into the venv.
		{Name: "ferry-fake-pip-audit", Version: "1.0", Files: map[string]string{
			"pip_audit/__init__.py": "import os\n", "pip_audit/__main__.py": fakePipAudit}},
	} {
		if _, err := w.Write(wheels); err != nil {
			t.Fatal(err)
		}
	}
	python = filepath.Join(venv, venvBinDir, pythonNames[0])
	pipInstall(t, python, wheels, "ferry-venvonly", "ferry-fake-pip-audit")
	return dir, python
}

// TestGatesUseTheAppsVenv: with no interpreter configured, every gate
// runs with the app's own .venv, found by itself, including the tools it
// has only through system site-packages (python -m flake8): the tests and
// the import pass only there, pip check and pip-audit see its packages,
// and pylint resolves its imports.
func TestGatesUseTheAppsVenv(t *testing.T) {
	t.Parallel()
	needEveryTool(t)
	dir, py := venvApp(t)
	log := filepath.Join(t.TempDir(), "pip-audit.json")
	cfg := only(GateTests, GateAudit, GateFlake8, GatePylint, GateBandit, GateSmoke, GateDeps)
	rep := mustRun(t, cfg, Options{AppDir: dir, Start: "gunicorn app:application",
		Env: map[string]string{"FERRY_TEST_PIP_AUDIT_LOG": log}})
	if rep.Python != py {
		t.Fatalf("report's interpreter %s, want the app's venv %s", rep.Python, py)
	}

	tests := gateOf(t, rep, GateTests)
	wantStatus(t, tests, StatusPassed)
	if tests.Tool != py+" -m pytest" {
		t.Errorf("tests tool %s", tests.Tool)
	}
	wantStatus(t, gateOf(t, rep, GateSmoke), StatusPassed)

	deps := gateOf(t, rep, GateDeps)
	wantStatus(t, deps, StatusFailed)
	if _, ok := findRule(deps, "ferry-venvonly"); !ok {
		t.Errorf("pip check did not inspect the venv: findings %+v", deps.Findings)
	}

	audit := gateOf(t, rep, GateAudit)
	wantStatus(t, audit, StatusPassed)
	if audit.Tool != py+" -m pip_audit" {
		t.Errorf("audit tool %s", audit.Tool)
	}
	var ran struct {
		Executable, Prefix string
		Argv               []string
	}
	if err := json.Unmarshal(mustRead(t, log), &ran); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(ran.Executable) != filepath.Dir(py) || ran.Prefix != filepath.Join(dir, ".venv") {
		t.Errorf("pip-audit ran as %s in %s, want the venv's interpreter", ran.Executable, ran.Prefix)
	}
	wantContains(t, "pip-audit arguments", strings.Join(ran.Argv, " "), "-r requirements.txt")

	for _, name := range []string{GateFlake8, GatePylint, GateBandit} {
		g := gateOf(t, rep, name)
		wantStatus(t, g, StatusPassed)
		if g.Tool != py+" -m "+name {
			t.Errorf("%s tool %s, want the venv's interpreter", name, g.Tool)
		}
	}
	// pylint runs in the venv, so the venv-only import is no import-error.
	if f, ok := findRule(gateOf(t, rep, GatePylint), "E0401"); ok {
		t.Errorf("pylint did not see the venv's packages: %+v", f)
	}
}
