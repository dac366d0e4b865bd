package gitrepo_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/gitrepo"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// repo makes a repository with one commit by Ada, on branch main.
func repo(t *testing.T) gitrepo.Repo {
	t.Helper()
	testtool.Need(t, "git")
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.name", "Ada Tester"}, {"commit", "-q", "--allow-empty", "-m", "first"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	r, err := gitrepo.Open(filepath.Join(dir, "."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCIFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "release", "GITHUB_ACTOR": "octocat",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "42",
	}
	ci := gitrepo.CIFromEnv(func(k string) string { return env[k] })
	want := gitrepo.CI{Actions: true, RefName: "release", Actor: "octocat", ServerURL: "https://github.com", Repository: "acme/app", RunID: "42"}
	if ci != want {
		t.Fatalf("CIFromEnv = %+v, want %+v", ci, want)
	}
	if got := ci.RunURL(); got != "https://github.com/acme/app/actions/runs/42" {
		t.Errorf("RunURL = %q", got)
	}
	if got := (gitrepo.CI{ServerURL: "https://github.com"}).RunURL(); got != "" {
		t.Errorf("RunURL without a run = %q, want empty", got)
	}
	if gitrepo.CIFromEnv(func(string) string { return "" }).Actions {
		t.Error("no GITHUB_ACTIONS must not mean Actions")
	}
}

// Inside Actions the branch and the deployer come from the CI context;
// outside they come from git, whatever the context says.
func TestBranchAndDeployerFollowTheCIContext(t *testing.T) {
	t.Parallel()
	r := repo(t)
	actions := gitrepo.CI{Actions: true, RefName: "release", Actor: "octocat"}
	local := gitrepo.CI{RefName: "release", Actor: "octocat"}
	for _, c := range []struct {
		name           string
		ci             gitrepo.CI
		branch, person string
	}{
		{"actions", actions, "release", "octocat"},
		{"elsewhere", local, "main", "Ada Tester"},
	} {
		b, err := r.Branch(c.ci)
		if err != nil || b != c.branch {
			t.Errorf("%s: Branch = %q, %v; want %q", c.name, b, err, c.branch)
		}
		if got := r.Deployer(c.ci); got != c.person {
			t.Errorf("%s: Deployer = %q, want %q", c.name, got, c.person)
		}
	}
	cmd := exec.Command("git", "checkout", "-q", "--detach")
	cmd.Dir = r.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("detach: %v: %s", err, out)
	}
	if _, err := r.Branch(local); err == nil || !strings.Contains(err.Error(), "detached") {
		t.Errorf("a detached HEAD outside Actions must say so: %v", err)
	}
	if b, err := r.Branch(actions); err != nil || b != "release" {
		t.Errorf("a detached HEAD in Actions: Branch = %q, %v", b, err)
	}
}
