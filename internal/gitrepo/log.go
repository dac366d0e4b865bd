package gitrepo

import (
	"fmt"
	"strings"
	"time"
)

// CommitTime is the committer time of sha: when the change became a
// commit, the start of its lead time.
func (r Repo) CommitTime(sha string) (time.Time, error) {
	out, err := r.git("show", "-s", "--format=%cI", "--end-of-options", sha)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, out)
	if err != nil {
		return time.Time{}, fmt.Errorf("git show %s: commit time %q: %w", sha, out, err)
	}
	return t, nil
}

// UserName is git's user.name, "" when none is set.
func (r Repo) UserName() string {
	n, err := r.git("config", "user.name")
	if err != nil {
		return ""
	}
	return n
}

// Subjects are the subject lines of the commits in to that from does not
// have (git log from..to), newest first, at most max of them; with from
// empty, the newest max commits of to. A from this repository does not
// know (a release deployed from elsewhere) is an error.
func (r Repo) Subjects(from, to string, max int) ([]string, error) {
	rng := to
	if from != "" {
		rng = from + ".." + to
	}
	out, err := r.gitRaw("log", "--no-merges", fmt.Sprintf("--max-count=%d", max), "--format=%s", "--end-of-options", rng, "--")
	if err != nil {
		return nil, err
	}
	var subjects []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			subjects = append(subjects, l)
		}
	}
	return subjects, nil
}
