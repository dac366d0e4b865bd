package agent_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// commitAll commits the repository's work tree and returns the SHA.
func (s *site) commitAll(msg string) string {
	s.git("add", "-A")
	s.git("commit", "-q", "-m", msg)
	return s.git("rev-parse", "HEAD")
}

// deployOK deploys sha with spec's changes and reports whether its venv
// was reused.
func (s *site) deployOK(sha string, edit func(*agent.Spec)) bool {
	s.t.Helper()
	spec := s.spec("apply", sha)
	if edit != nil {
		edit(&spec)
	}
	r := runAgent(s.t, spec)
	if r.code != 0 || s.health() != sha {
		s.t.Fatalf("deploy %s: %s", sha[:7], r)
	}
	return r.result.VenvReused
}

const pyprojectApp = `[project]
name = "app"
version = "%s"
dependencies = [
    "greet==%s",  # the one dependency
]

[project.optional-dependencies]
dev = ["pytest"]

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
`

// TestPyprojectDependencies: an app whose dependencies are declared only
// in pyproject.toml (PEP 621) gets them in its venv with no setting;
// optional dependencies (dev) are not installed; a code-only deploy, and
// one that only bumps the project's version, reuse the venv; a changed
// dependency builds a new one.
func TestPyprojectDependencies(t *testing.T) {
	s := newSite(t)
	os.Remove(filepath.Join(s.repo, "requirements.txt"))
	pyproject := func(version, greet string) {
		s.writeFile("pyproject.toml", strings.Replace(strings.Replace(pyprojectApp, "%s", version, 1), "%s", greet, 1))
	}
	pyproject("1.0.0", "1.0.0")
	sha := s.commitAll("pyproject")
	if s.deployOK(sha, nil) {
		t.Fatal("the first deploy reused a venv")
	}
	venv := s.release(s.state().Current).Venv
	if b, err := os.ReadFile(filepath.Join(s.root, "venvs", venv, "ferry-requirements.txt")); err != nil || string(b) != "greet==1.0.0\n" {
		t.Fatalf("the venv's requirements from pyproject.toml: %q %v", b, err)
	}
	if !s.deployOK(s.change(false), nil) {
		t.Fatal("a code-only deploy rebuilt the venv")
	}
	pyproject("1.0.1", "1.0.0")
	if !s.deployOK(s.commitAll("version bump"), nil) {
		t.Fatal("a version bump in pyproject.toml rebuilt the venv")
	}
	pyproject("1.0.2", "2.0.0")
	if s.deployOK(s.commitAll("greet 2"), nil) {
		t.Fatal("a changed dependency reused the venv")
	}
	// Named explicitly, it is read the same way.
	if !s.deployOK(s.change(false), func(sp *agent.Spec) { sp.Requirements = "pyproject.toml" }) {
		t.Fatal("requirements: pyproject.toml keyed otherwise than the fallback")
	}
}

// TestWheelhouseInReleaseReusesVenv: pip.find_links naming a wheelhouse
// inside the release keys as written (plus what the wheelhouse holds), so
// a code-only deploy reuses the venv; a wheelhouse with another wheel
// builds a new one.
func TestWheelhouseInReleaseReusesVenv(t *testing.T) {
	s := newSite(t)
	os.MkdirAll(filepath.Join(s.repo, "wheels"), 0o755)
	if _, err := (testwheel.Wheel{Name: "greet", Version: "1.0.0"}).Write(filepath.Join(s.repo, "wheels")); err != nil {
		t.Fatal(err)
	}
	sha := s.commitAll("wheelhouse")
	inRelease := func(sp *agent.Spec) { sp.Pip.FindLinks = []string{"wheels"} }
	if s.deployOK(sha, inRelease) {
		t.Fatal("the first deploy reused a venv")
	}
	if !s.deployOK(s.change(false), inRelease) {
		t.Fatal("a code-only deploy with a wheelhouse in the release rebuilt the venv")
	}
	testwheel.Wheel{Name: "other", Version: "1.0.0"}.Write(filepath.Join(s.repo, "wheels"))
	if s.deployOK(s.commitAll("another wheel"), inRelease) {
		t.Fatal("a wheelhouse with another wheel reused the venv")
	}
}

// TestSystemSitePackages: pip.system_site_packages makes a venv that sees
// the interpreter's packages, under a key of its own.
func TestSystemSitePackages(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")
	s.deployOK(sha, nil)
	plain := s.release(s.state().Current).Venv
	if s.deployOK(s.change(false), func(sp *agent.Spec) { sp.Pip.SystemSitePackages = true }) {
		t.Fatal("system_site_packages reused the venv made without it")
	}
	venv := s.release(s.state().Current).Venv
	if venv == plain {
		t.Fatal("system_site_packages keys the same venv")
	}
	cfg, _ := os.ReadFile(filepath.Join(s.root, "venvs", venv, "pyvenv.cfg"))
	if !strings.Contains(string(cfg), "include-system-site-packages = true") {
		t.Fatalf("pyvenv.cfg: %s", cfg)
	}
}

// TestRequireHashes: a pip-compile lock with hashes installs with
// --require-hashes: the right hash deploys, a wrong one fails before
// anything changed.
func TestRequireHashes(t *testing.T) {
	s := newSite(t)
	b, err := os.ReadFile(filepath.Join(s.wheels, testwheel.Wheel{Name: "greet", Version: "1.0.0"}.Filename()))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	lock := "# pip-compile --generate-hashes\ngreet==1.0.0 \\\n    --hash=sha256:" + hex.EncodeToString(sum[:]) + "\n"
	s.writeFile("requirements.txt", lock)
	sha := s.commitAll("lock")
	s.deployOK(sha, nil)
	s.writeFile("requirements.txt", strings.Replace(lock, "greet==1.0.0", "greet==2.0.0", 1))
	bad := s.commitAll("wrong hash")
	r := runAgent(t, s.spec("apply", bad))
	if r.code != 1 || !strings.Contains(r.result.Error, "install") || s.health() != sha {
		t.Fatalf("a hash that does not match: %s", r)
	}
	log, _ := os.ReadFile(filepath.Join(s.root, "shared", "logs", "pip-"+r.result.Release+".log"))
	if !strings.Contains(string(log), "--require-hashes") && !strings.Contains(string(log), "HASHES") {
		t.Fatalf("pip did not check hashes:\n%s", log)
	}
}
