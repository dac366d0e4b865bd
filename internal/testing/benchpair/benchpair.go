// Package benchpair measures a subject against a baseline in the same
// benchmark run: the two are run in interleaved pairs (which of the two
// goes first alternates), so that both see the same machine load, and
// the ratio of their medians is reported. Ferry's speed figures are
// such ratios, never timed assertions (machines are noisy).
package benchpair

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Pairs runs baseline and subject b.N times each, interleaved, and
// returns the median duration of each.
func Pairs(b *testing.B, baseline, subject func() time.Duration) (base, subj time.Duration) {
	b.Helper()
	var bs, ss []time.Duration
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			bs = append(bs, baseline())
			ss = append(ss, subject())
		} else {
			ss = append(ss, subject())
			bs = append(bs, baseline())
		}
	}
	return Median(bs), Median(ss)
}

// Median is the middle of ds (the mean of the two middle ones for an
// even count).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Report reports the two medians in milliseconds under the given names
// and their ratio (subject over baseline) as "ratio", and hides ns/op,
// which would time the whole loop.
func Report(b *testing.B, baseName string, base time.Duration, subjName string, subj time.Duration) {
	b.Helper()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(base), baseName+"-ms")
	b.ReportMetric(ms(subj), subjName+"-ms")
	if base > 0 {
		b.ReportMetric(float64(subj)/float64(base), "ratio")
	}
	b.ReportMetric(0, "ns/op")
}

// Time runs f and returns how long it took.
func Time(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// ModuleRoot is the repository's top directory, found from the working
// directory (a test runs in its package's directory).
func ModuleRoot(b testing.TB) string {
	b.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			b.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build builds the package at pkg (relative to the module root, e.g.
// ./cmd/ferry) as a release does (CGO_ENABLED=0, -trimpath, -s -w, the
// given tags) for goos/goarch ("" for this machine) and returns the
// binary's path.
func Build(b testing.TB, pkg, goos, goarch string, tags ...string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), filepath.Base(pkg))
	if goos == "windows" {
		out += ".exe"
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", joinTags(tags))
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = ModuleRoot(b)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if goos != "" {
		cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH="+goarch)
	}
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, o)
	}
	return out
}

func joinTags(tags []string) string {
	s := ""
	for i, t := range tags {
		if i > 0 {
			s += ","
		}
		s += t
	}
	return s
}

// Repo is a git repository a benchmark deploys from. Each Commit changes
// build.txt alone, so every deploy is a new commit of the same code (a
// code-only deploy, the common case).
type Repo struct {
	Dir string
	tb  testing.TB
	n   int
}

// NewRepo makes dir a git repository on branch main; files may be written
// before or after.
func NewRepo(tb testing.TB, dir string) *Repo {
	r := &Repo{Dir: dir, tb: tb}
	os.MkdirAll(dir, 0o755)
	r.Git("init", "-q", "-b", "main")
	return r
}

// Git runs git in the repository as a fixed committer and returns its
// trimmed output; a failure ends the benchmark.
func (r *Repo) Git(args ...string) string {
	r.tb.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=B", "-c", "user.email=b@example.com"}, args...)...)
	cmd.Dir = r.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.tb.Fatalf("git %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// N is how many commits Commit made.
func (r *Repo) N() int { return r.n }

// Commit writes the next build.txt, commits everything and returns the
// commit's SHA.
func (r *Repo) Commit() string {
	r.tb.Helper()
	r.n++
	os.WriteFile(filepath.Join(r.Dir, "build.txt"), []byte(fmt.Sprint(r.n)), 0o644)
	r.Git("add", "-A")
	r.Git("commit", "-q", "-m", fmt.Sprint(r.n))
	return r.Git("rev-parse", "HEAD")
}
