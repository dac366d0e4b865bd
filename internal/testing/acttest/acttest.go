// Package acttest runs GitHub Actions workflows for real, on this
// machine, with nektos/act (pinned in Version) in its host mode: jobs on
// `ubuntu-latest` run as processes here, not in containers, so no image
// is pulled and no Docker is needed. act is kept off the network: the
// version check is disabled, actions are never fetched (a workflow here
// uses only local actions, and act replaces an actions/checkout of the
// repository itself with the directory it runs in), and no cache or
// artifact server is started.
//
// Install act with:
//
//	go install github.com/nektos/act@v0.2.89
package acttest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// Version is the act release these tests are written against (it builds
// with the Go of go.mod); another may print differently.
const Version = "0.2.89"

// Need returns act's path, or fails (CI=true) or skips the test.
func Need(t testing.TB) string {
	t.Helper()
	install := "install it with: go install github.com/nektos/act@v" + Version
	p, err := exec.LookPath("act")
	if err != nil {
		testtool.Missing(t, "act", install)
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil {
		testtool.Missing(t, "act", "act --version failed (", err, "); ", install)
	}
	if !strings.Contains(string(out), Version) {
		t.Logf("act is %s; these tests are written against act %s (go install github.com/nektos/act@v%s)", strings.TrimSpace(string(out)), Version, Version)
	}
	return p
}

// Repo makes a git repository in a temporary directory holding files
// (slash paths), committed, as act expects its working directory to be.
func Repo(t testing.TB, files map[string][]byte) string {
	t.Helper()
	git := testtool.Need(t, "git")
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "workflow under test"}} {
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=acttest", "GIT_AUTHOR_EMAIL=acttest@example.com",
			"GIT_COMMITTER_NAME=acttest", "GIT_COMMITTER_EMAIL=acttest@example.com", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return dir
}

// Options say what to run.
type Options struct {
	// Repo is the working directory: a repository made by Repo.
	Repo string
	// Workflow is the workflow file, relative to Repo.
	Workflow string
	// CacheDir is act's action cache; its tool_cache/ is the jobs'
	// RUNNER_TOOL_CACHE, so runs that share it share the tool cache.
	CacheDir string
	// Env is added to act's environment, which host-mode jobs inherit.
	Env []string
}

// Result is one act run.
type Result struct {
	// Output is act's stdout and stderr together: every step's output,
	// prefixed with [workflow/job].
	Output string
	// ExitCode is act's: 0 when every job succeeded.
	ExitCode int
}

// Succeeded is true when act exited 0 and reported the job succeeded.
func (r Result) Succeeded() bool {
	return r.ExitCode == 0 && strings.Contains(r.Output, "Job succeeded")
}

// Run runs the push event of o.Workflow under act. Run fails the test
// only when act could not be run at all; a failing workflow is a Result.
func Run(ctx context.Context, t testing.TB, act string, o Options) Result {
	t.Helper()
	args := []string{"push",
		"--workflows", o.Workflow,
		"--platform", "ubuntu-latest=-self-hosted",
		"--pull=false", "--action-offline-mode", "--no-cache-server",
		"--action-cache-path", o.CacheDir,
		"--container-daemon-socket", "-",
	}
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(),
		"ACT_DISABLE_VERSION_CHECK=1",
		// No user or system .actrc changes the flags above.
		"XDG_CONFIG_HOME="+filepath.Join(o.CacheDir, "xdg-config"),
	)
	cmd.Env = append(cmd.Env, o.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res := Result{Output: out.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("act %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("act exited %d:\n%s", res.ExitCode, res.Output)
	return res
}
