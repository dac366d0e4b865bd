package pyenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// A venv filled by the base interpreter's pip is the venv ensurepip
// makes: the same packages at the same versions (pip list, run by the
// venv's own pip, which must therefore work), the same prefix, the same
// scripts; and Install puts the same requirements into both.
// Each interpreter at hand: python3 on PATH (here a pyenv shim) and the
// distribution's, whose ensurepip is patched to use its own wheels.
func TestCreateWithBasePipMatchesEnsurepip(t *testing.T) {
	pythons := []string{testtool.Need(t, "python3")}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		pythons = append(pythons, "/usr/bin/python3")
	}
	for _, python := range pythons {
		t.Run(strings.ReplaceAll(python, "/", "_"), func(t *testing.T) { matchesEnsurepip(t, python) })
	}
}

func matchesEnsurepip(t *testing.T, python string) {
	ctx := context.Background()
	plan, err := planPip(ctx, python)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.usable() {
		testtool.Missing(t, "pip 22.3 or later with ensurepip's wheels for "+python, plan)
	}
	base := t.TempDir()
	fast, slow := filepath.Join(base, "fast"), filepath.Join(base, "slow")
	if err := Create(ctx, python, fast, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fast, basePipMarker)); err != nil {
		t.Fatalf("Create did not use the base pip: %v", err)
	}
	if err := viaEnsurepip(ctx, python, slow, nil); err != nil {
		t.Fatal(err)
	}
	wheels := t.TempDir()
	if _, err := (testwheel.Wheel{Name: "greet-lib", Version: "1.2.3"}).Write(wheels); err != nil {
		t.Fatal(err)
	}
	reqs := filepath.Join(t.TempDir(), "requirements.txt")
	os.WriteFile(reqs, []byte("greet-lib==1.2.3\n"), 0o644)

	look := func(venv string) (pipList, prefix string, scripts []string) {
		t.Helper()
		run := func(args ...string) string {
			out, err := exec.Command(Interpreter(venv), args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", Interpreter(venv), args, err, out)
			}
			return strings.TrimSpace(string(out))
		}
		pipList = run("-m", "pip", "list", "--format=freeze", "--disable-pip-version-check")
		prefix = run("-c", "import sys; print(sys.prefix)")
		entries, _ := os.ReadDir(filepath.Dir(Interpreter(venv)))
		for _, e := range entries {
			scripts = append(scripts, e.Name())
		}
		return pipList, prefix, scripts
	}
	for _, step := range []string{"created", "installed"} {
		if step == "installed" {
			for _, v := range []string{fast, slow} {
				if err := Install(ctx, v, filepath.Dir(reqs), reqs, PipOptions{NoIndex: true, FindLinks: []string{wheels}}, filepath.Join(v, "pip.log")); err != nil {
					t.Fatal(err)
				}
			}
		}
		fl, fp, fs := look(fast)
		sl, sp, ss := look(slow)
		if fl != sl {
			t.Errorf("%s: pip list differs\nbase pip:\n%s\nensurepip:\n%s", step, fl, sl)
		}
		if !strings.Contains(fl, "pip==") || (step == "installed") != strings.Contains(fl, "greet-lib==1.2.3") {
			t.Errorf("%s: pip list:\n%s", step, fl)
		}
		if fp != fast || sp != slow {
			t.Errorf("%s: sys.prefix %q and %q, want %q and %q", step, fp, sp, fast, slow)
		}
		if !slices.Equal(fs, ss) {
			t.Errorf("%s: scripts differ: %v, ensurepip %v", step, fs, ss)
		}
	}
}

// Without a usable base pip the venv is made by ensurepip, and filled by
// its own pip.
func TestPipPlanFallsBack(t *testing.T) {
	for _, c := range []struct {
		plan pipPlan
		want bool
	}{
		{pipPlan{Executable: "/py", Pip: "22.3", Wheels: []string{"/w/pip.whl"}}, true},
		{pipPlan{Executable: "/py", Pip: "24.0b1", Wheels: []string{"/w/pip.whl", "/w/setuptools.whl"}}, true},
		{pipPlan{Executable: "/py", Pip: "22.2.2", Wheels: []string{"/w/pip.whl"}}, false},
		{pipPlan{Executable: "/py", Pip: "", Wheels: []string{"/w/pip.whl"}}, false},
		{pipPlan{Executable: "/py", Pip: "23.0", Wheels: []string{"/w/pip.whl", ""}}, false},
		{pipPlan{Executable: "/py", Pip: "23.0"}, false},
	} {
		if got := c.plan.usable(); got != c.want {
			t.Errorf("%+v usable = %v, want %v", c.plan, got, c.want)
		}
	}
	venv := t.TempDir()
	cmd := pipCommand(context.Background(), venv, "list")
	if cmd.Path != Interpreter(venv) && filepath.Base(cmd.Args[0]) != filepath.Base(Interpreter(venv)) {
		t.Errorf("a venv without %s is filled by its own pip: %v", basePipMarker, cmd.Args)
	}
	os.WriteFile(filepath.Join(venv, basePipMarker), []byte("/usr/bin/python3\n"), 0o644)
	if got := pipCommand(context.Background(), venv, "list").Args; !slices.Equal(got, []string{"/usr/bin/python3", "-m", "pip", "--python", Interpreter(venv), "list"}) {
		t.Errorf("pipCommand = %v", got)
	}
}
