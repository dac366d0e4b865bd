// Package gitrepo asks the local git repository the questions a deploy
// starts with: which commit, which branch, is the tree clean, who is
// deploying. It runs git with argument vectors, never a shell.
package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/proc"
)

// Repo is a work tree.
type Repo struct{ Dir string }

func (r Repo) git(args ...string) (string, error) {
	out, err := r.gitRaw(args...)
	return strings.TrimSpace(out), err
}

// gitRaw keeps leading spaces, which porcelain formats give meaning to.
func (r Repo) gitRaw(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	// Like every child of ferry: it never outlives ferry (proc.Prepare).
	proc.Prepare(cmd)
	cmd.Dir = r.Dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", errors.New("git is not installed")
		}
		return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(stderr.String()))
	}
	return out.String(), nil
}

// Open finds the repository that holds dir.
func Open(dir string) (Repo, error) {
	top, err := Repo{Dir: dir}.git("rev-parse", "--show-toplevel")
	if err != nil {
		return Repo{}, fmt.Errorf("%s is not inside a git repository: %w", dir, err)
	}
	return Repo{Dir: top}, nil
}

// Resolve turns a ref (branch, tag, short SHA, HEAD~1) into the full
// commit SHA.
func (r Repo) Resolve(ref string) (string, error) {
	if strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("ref %q must not start with '-'", ref)
	}
	sha, err := r.git("rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil || sha == "" {
		return "", fmt.Errorf("ref %q does not name a commit in %s", ref, r.Dir)
	}
	return sha, nil
}

// Dirty lists tracked files with uncommitted changes: they would not be
// deployed, and a person deploying HEAD probably expects them to be.
func (r Repo) Dirty() ([]string, error) {
	out, err := r.gitRaw("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	var files []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if len(l) > 3 {
			files = append(files, l[3:])
		}
	}
	return files, nil
}

// CI is what the CI system running ferry says about the run. The CLI
// reads it once from the environment it was given, so that nothing below
// it reads the process environment and tests state a run in one value.
type CI struct {
	// Actions is true inside GitHub Actions (GITHUB_ACTIONS=true).
	Actions bool
	// RefName is the branch or tag the run is for (GITHUB_REF_NAME):
	// Actions checks out a detached HEAD, so git cannot tell.
	RefName string
	// Actor is who started the run (GITHUB_ACTOR).
	Actor string
	// ServerURL, Repository and RunID locate the run (GITHUB_SERVER_URL,
	// GITHUB_REPOSITORY, GITHUB_RUN_ID).
	ServerURL, Repository, RunID string
}

// CIFromEnv reads the CI context through getenv.
func CIFromEnv(getenv func(string) string) CI {
	return CI{
		Actions: getenv("GITHUB_ACTIONS") == "true", RefName: getenv("GITHUB_REF_NAME"), Actor: getenv("GITHUB_ACTOR"),
		ServerURL: getenv("GITHUB_SERVER_URL"), Repository: getenv("GITHUB_REPOSITORY"), RunID: getenv("GITHUB_RUN_ID"),
	}
}

// RunURL links to the GitHub Actions run, when there is one.
func (c CI) RunURL() string {
	if c.ServerURL == "" || c.Repository == "" || c.RunID == "" {
		return ""
	}
	return c.ServerURL + "/" + c.Repository + "/actions/runs/" + c.RunID
}

// Branch is the branch being deployed: in GitHub Actions the one ci
// names (HEAD is detached there); elsewhere git knows.
func (r Repo) Branch(ci CI) (string, error) {
	if ci.Actions && ci.RefName != "" {
		return ci.RefName, nil
	}
	b, err := r.git("rev-parse", "--abbrev-ref", "HEAD")
	if err != nil {
		return "", err
	}
	if b == "HEAD" {
		return "", errors.New("HEAD is detached: no branch to choose an environment from")
	}
	return b, nil
}

// Rel returns path relative to the repository top, with forward slashes.
func (r Repo) Rel(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	top, _ := filepath.EvalSymlinks(r.Dir)
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is outside the repository %s", path, r.Dir)
	}
	return filepath.ToSlash(rel), nil
}

// HasPath reports whether path (relative to the top) exists at sha.
func (r Repo) HasPath(sha, path string) bool {
	if path == "." || path == "" {
		return true
	}
	_, err := r.git("cat-file", "-e", sha+":"+path)
	return err == nil
}

// Deployer names who deploys: the GitHub actor in Actions, else git's
// user.name, else the OS user.
func (r Repo) Deployer(ci CI) string {
	if ci.Actions && ci.Actor != "" {
		return ci.Actor
	}
	if n, err := r.git("config", "user.name"); err == nil && n != "" {
		return n
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// Worktree checks sha out into a temporary directory, so checks run on
// exactly the commit that will be deployed, and returns it with a
// function that removes it.
func (r Repo) Worktree(sha string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "ferry-worktree-")
	if err != nil {
		return "", nil, err
	}
	os.Remove(dir)
	if _, err := r.git("worktree", "add", "--detach", "--quiet", dir, sha); err != nil {
		return "", nil, err
	}
	return dir, func() {
		r.git("worktree", "remove", "--force", dir)
		os.RemoveAll(dir)
	}, nil
}

// HeadSHA is the commit the work tree is on.
func (r Repo) HeadSHA() string {
	sha, _ := r.git("rev-parse", "HEAD")
	return sha
}
