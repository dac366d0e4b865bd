package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// TestNonPythonApp deploys a Go binary with python: none: no venv, no
// pip, the start command runs as given from the release. This is how the
// Windows tests deploy (no Windows Python offline), and what a non-Python
// app needs.
func TestNonPythonApp(t *testing.T) {
	s := newSite(t)
	bin := filepath.Join(s.repo, "testapp")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ferryhq/ferry/internal/testing/testapp").CombinedOutput(); err != nil {
		t.Fatalf("build testapp: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(s.repo, "requirements.txt"))
	s.git("add", "-A")
	s.git("commit", "-q", "-m", "go app")
	sha := s.git("rev-parse", "HEAD")
	spec := s.spec("apply", sha)
	spec.Python = "none"
	spec.Start = []string{"testapp"}
	r := runAgent(t, spec)
	if r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	steps := map[string]string{}
	for _, st := range r.result.Steps {
		steps[string(st.Name)] = string(st.Status)
	}
	if steps["venv"] != "skipped" || steps["install"] != "skipped" {
		t.Fatalf("venv and install must skip with python: none: %v", steps)
	}
	if got := s.health(); got != sha {
		t.Fatalf("the Go app answers %q, want %s", got, sha)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.root, "venvs")); len(entries) != 0 {
		t.Fatal("a venv was made for a non-Python app")
	}
	// A second release, then a rollback with no venv to verify.
	s.change(false)
	sha2 := s.git("rev-parse", "HEAD")
	if r := runAgent(t, func() agent.Spec {
		sp := s.spec("apply", sha2)
		sp.Python = "none"
		sp.Start = []string{"testapp"}
		return sp
	}()); r.code != 0 {
		t.Fatalf("second deploy: %s", r)
	}
	rb := s.spec("rollback", "")
	rb.Python = "none"
	rb.Start = []string{"testapp"}
	if r := runAgent(t, rb); r.code != 0 || s.health() != sha {
		t.Fatalf("rollback of a non-Python app: %s", r)
	}
}
