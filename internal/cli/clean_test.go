package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// First use leaves the repository clean: a local deploy of examples/hello
// in its own git repository writes .ferry/local (releases, a venv) with a
// .gitignore of *, so git status stays clean, and ferry check afterwards
// reports exactly what it reported before (the gates ignore ferry's
// directories: no venv site-packages linted, no extra findings).
func TestCheckAfterALocalDeploy(t *testing.T) {
	t.Parallel()
	slow(t)
	for _, tool := range []string{"git", "python3", "pytest", "flake8", "pylint", "bandit"} {
		need(t, tool)
	}
	dir := t.TempDir()
	src := filepath.Join("..", "..", "examples", "hello")
	for _, f := range []string{"app.py", "requirements.txt", "tests/test_app.py", "ferry.yml", "osv/PYSEC-2019-217.json"} {
		b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	// A free port, so the app does not meet another test's.
	cfg, _ := os.ReadFile(filepath.Join(dir, "ferry.yml"))
	port := strconv.Itoa(freePort(t))
	os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte(strings.ReplaceAll(string(cfg), "8000", port)), 0o644)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("__pycache__/\n.coverage*\n.pytest_cache/\ncoverage.xml\n"), 0o644)
	f := &fixture{t: t, dir: dir}
	f.git("init", "-q", "-b", "dev")
	f.commit("hello")

	findings := func() map[string]int {
		t.Helper()
		r := ferryIn(t, dir, nil, "check", "--json")
		if r.code != 0 {
			t.Fatalf("ferry check: %s", r)
		}
		var env struct {
			Result struct {
				Gates []struct {
					Name     string
					Status   string
					Findings []json.RawMessage
				}
			}
		}
		if err := json.Unmarshal([]byte(r.out), &env); err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, g := range env.Result.Gates {
			m[g.Name+" "+g.Status] = len(g.Findings)
		}
		return m
	}
	before := findings()

	r := ferryIn(t, dir, nil, "deploy", "local", "--skip-gates")
	if r.code != 0 {
		t.Fatalf("local deploy: %s", r)
	}
	f.root = filepath.Join(dir, ".ferry", "local")
	t.Cleanup(f.stopApp)
	if b, err := os.ReadFile(filepath.Join(dir, ".ferry", "local", ".gitignore")); err != nil || !strings.Contains(string(b), "\n*\n") {
		t.Errorf("the local root has no .gitignore of *: %q %v", b, err)
	}
	if venvs, _ := filepath.Glob(filepath.Join(dir, ".ferry", "local", "venvs", "*", "*")); len(venvs) == 0 {
		t.Fatal("the deploy made no venv: the test would prove nothing")
	}
	status, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=all").Output()
	if err != nil || len(strings.TrimSpace(string(status))) != 0 {
		t.Errorf("git status after a local deploy is not clean: %v\n%s", err, status)
	}
	after := findings()
	if len(after) != len(before) {
		t.Fatalf("gates before %v, after %v", before, after)
	}
	for k, n := range before {
		if after[k] != n {
			t.Errorf("gate %s: %d findings before the deploy, %d after (%v)", k, n, after[k], after)
		}
	}
}
