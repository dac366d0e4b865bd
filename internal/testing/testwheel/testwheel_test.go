package testwheel

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// TestPipInstallsWheel proves the wheel is one pip accepts: it installs it
// into a real virtualenv from a local directory and imports it.
func TestPipInstallsWheel(t *testing.T) {
	py := testtool.Need(t, "python3")
	dir := t.TempDir()
	wheels := filepath.Join(dir, "wheels")
	os.Mkdir(wheels, 0o755)
	if _, err := (Wheel{Name: "greet-lib", Version: "1.2.3", Files: map[string]string{"greet_lib/__init__.py": "def hi():\n    return 'hi'\n"}}).Write(wheels); err != nil {
		t.Fatal(err)
	}
	venv := filepath.Join(dir, "venv")
	if out, err := exec.Command(py, "-m", "venv", venv).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, out)
	}
	vpy := filepath.Join(venv, "bin", "python")
	if out, err := exec.Command(vpy, "-m", "pip", "install", "--no-index", "--find-links", wheels, "greet-lib==1.2.3").CombinedOutput(); err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
	out, err := exec.Command(vpy, "-c", "import greet_lib; print(greet_lib.hi())").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hi" {
		t.Fatalf("import: %v %q", err, out)
	}
}
