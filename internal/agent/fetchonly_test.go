package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitFetchesOnlyWhatItDeploys deploys from a repository (through the
// mirror: a file:// URL) that also holds a branch whose name is over 4,300
// characters long, which no server's file system stores as a loose ref:
// fetching every branch failed the deploy; fetching the commit alone does
// not. The commit is then an older one, not at any branch's tip.
func TestGitFetchesOnlyWhatItDeploys(t *testing.T) {
	s := newSite(t)
	old := s.git("rev-parse", "HEAD")
	head := s.change(false)
	parts := make([]string, 22)
	for i := range parts {
		parts[i] = strings.Repeat(string(rune('a'+i)), 199)
	}
	long := "refs/heads/" + strings.Join(parts, "/")
	f, err := os.OpenFile(filepath.Join(s.repo, ".git", "packed-refs"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s %s\n", head, long)
	f.Close()
	if out := s.git("for-each-ref", "--format=%(refname)"); !strings.Contains(out, long) {
		t.Fatalf("the repository does not hold the long branch:\n%.300s", out)
	}
	for _, sha := range []string{head, old} {
		spec := s.spec("apply", sha)
		spec.Source.URL = "file://" + filepath.ToSlash(s.repo)
		if r := runAgent(t, spec); r.code != 0 {
			t.Fatalf("deploy %s from a repository with an unstorable branch: %s", sha[:8], r)
		}
		if got := s.health(); got != sha {
			t.Fatalf("serving %q, want %s", got, sha)
		}
	}
	if _, err := os.Stat(filepath.Join(s.root, "repo.git")); err != nil {
		t.Fatalf("the deploy did not go through the mirror: %v", err)
	}
}
