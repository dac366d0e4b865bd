package gates

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

var (
	pyOnce sync.Once
	pyPath string
)

// testPython is an interpreter with pytest and pytest-cov:
// $FERRY_TEST_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH
// (which on a developer machine may be a pyenv build without them).
func testPython(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() {
		for _, c := range []string{os.Getenv("FERRY_TEST_PYTHON"), "/usr/bin/python3", "python3"} {
			if c == "" {
				continue
			}
			if err := exec.Command(c, "-c", "import pytest, pytest_cov").Run(); err == nil {
				pyPath = c
				return
			}
		}
	})
	if pyPath == "" {
		testtool.Missing(t, "a python3 with pytest and pytest-cov")
	}
	return pyPath
}

// needEveryTool is testPython for a test that runs every linter too.
func needEveryTool(t testing.TB) string {
	t.Helper()
	for _, tool := range []string{"flake8", "pylint", "bandit"} {
		testtool.Need(t, tool)
	}
	return testPython(t)
}

// copyProject copies testdata/projects/name into a temporary directory, so
// runs neither write into the source tree nor see each other.
func copyProject(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join("testdata", "projects", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// only enables the named built-in gates and disables the rest.
func only(names ...string) Config {
	var c Config
	for _, d := range builtins {
		on := slices.Contains(names, d.name)
		*d.settings(&c).enabled = &on
	}
	return c
}

func mustRun(t testing.TB, cfg Config, opts Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func gateOf(t testing.TB, rep *Report, name string) Result {
	t.Helper()
	for _, g := range rep.Gates {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no gate %q in report", name)
	return Result{}
}

func wantStatus(t testing.TB, r Result, want Status) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %s, want %s\nsummary: %s\nhint: %s\noutput:\n%s", r.Name, r.Status, want, r.Summary, r.Hint, r.Output)
	}
}

func wantFigure(t testing.TB, r Result, key string, want float64) {
	t.Helper()
	got, ok := r.Figures[key]
	if !ok {
		t.Errorf("%s: no figure %q in %v", r.Name, key, r.Figures)
		return
	}
	if got != want {
		t.Errorf("%s: figure %s = %v, want %v", r.Name, key, got, want)
	}
}

func findRule(r Result, rule string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return f, true
		}
	}
	return Finding{}, false
}

func wantContains(t testing.TB, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s %q does not contain %q", what, s, sub)
	}
}
