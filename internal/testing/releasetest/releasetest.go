// Package releasetest builds ferry's release archives for real with
// goreleaser (pinned in GoreleaserVersion) from .goreleaser.yaml, once
// per test binary, so tests can check what users download: the archives'
// names and contents, checksums.txt, the versions the binaries print,
// and the GitHub Action that installs them.
//
// The snapshot is built in a temporary copy of the checkout (tracked and
// untracked, not ignored, files, committed there with HEAD's commit
// date), so the tests never touch the checkout's own dist/ and test
// uncommitted changes too. FERRY_RELEASE_TARGETS=ci (the default here)
// builds ferry for linux/amd64 only, plus all four agents; set
// FERRY_RELEASE_TARGETS=all to build and check every platform.
package releasetest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// GoreleaserVersion is the goreleaser the configuration is written for
// (v2.18 and later need a newer Go than go.mod's).
const GoreleaserVersion = "2.13.3"

// Platform is an OS/architecture ferry is released for.
type Platform struct{ GOOS, GOARCH string }

// Platforms are every archive a release has.
var Platforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// ArchiveName is goreleaser's name for the archive of p at version.
func ArchiveName(version string, p Platform) string {
	ext := "tar.gz"
	if p.GOOS == "windows" {
		ext = "zip"
	}
	return fmt.Sprintf("ferry_%s_%s_%s.%s", version, p.GOOS, p.GOARCH, ext)
}

// Snapshot is one goreleaser snapshot build.
type Snapshot struct {
	// Dist is goreleaser's output directory.
	Dist string
	// Source is the copy of the checkout it was built from.
	Source string
	// Version is the snapshot's version (goreleaser's metadata.json).
	Version string
	// Commit and CommitDate are the source copy's commit.
	Commit     string
	CommitDate time.Time
	// Targets is FERRY_RELEASE_TARGETS as built: "ci" or "all".
	Targets string
	// Platforms are the archives built (one for ci, all for all).
	Platforms []Platform
	// Took is how long goreleaser ran.
	Took time.Duration
}

// Checksums reads checksums.txt: archive name to SHA-256 (hex).
func (s *Snapshot) Checksums(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 {
			t.Fatalf("checksums.txt line %q is not \"<sha256>  <name>\"", line)
		}
		sums[f[1]] = f[0]
	}
	return sums
}

// FileSHA256 is the hex SHA-256 of a file.
func FileSHA256(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

var (
	once    sync.Once
	built   *Snapshot
	buildEr error
	tmpRoot string
)

// Main is TestMain's body for a package that builds a snapshot: it
// removes the build once every test has run (t.TempDir cannot hold what
// several tests share).
func Main(m *testing.M) int {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	return code
}

// Build returns the snapshot, building it on first use. A missing git or
// goreleaser fails the test under CI=true and skips it elsewhere.
func Build(t testing.TB) *Snapshot {
	t.Helper()
	if testing.Short() {
		t.Skip("builds release archives with goreleaser (skipped with -short)")
	}
	git := testtool.Need(t, "git")
	gr, err := exec.LookPath("goreleaser")
	if err != nil {
		testtool.Missing(t, "goreleaser", "install it with: go install github.com/goreleaser/goreleaser/v2@v"+GoreleaserVersion)
	}
	once.Do(func() { built, buildEr = build(git, gr) })
	if buildEr != nil {
		t.Fatal(buildEr)
	}
	return built
}

func build(git, gr string) (*Snapshot, error) {
	if out, err := exec.Command(gr, "--version").CombinedOutput(); err == nil && !strings.Contains(string(out), GoreleaserVersion) {
		fmt.Fprintf(os.Stderr, "releasetest: goreleaser is not %s (go install github.com/goreleaser/goreleaser/v2@v%s); its output may differ\n", GoreleaserVersion, GoreleaserVersion)
	}
	wd, _ := os.Getwd()
	root, ok := agentbin.FindModule(wd)
	if !ok {
		return nil, fmt.Errorf("releasetest: no ferry checkout above %s", wd)
	}
	dir, err := os.MkdirTemp("", "ferry-releasetest-")
	if err != nil {
		return nil, err
	}
	tmpRoot = dir
	src := filepath.Join(dir, "src")
	if err := copyCheckout(git, root, src); err != nil {
		return nil, err
	}

	// HEAD's commit date, so the archives' mtimes are what a release of
	// this commit would have; a checkout with no commit uses a fixed one.
	date := "2026-01-01T00:00:00Z"
	if out, err := gitOut(git, root, nil, "log", "-1", "--format=%cI"); err == nil && out != "" {
		date = out
	}
	env := []string{"GIT_AUTHOR_NAME=releasetest", "GIT_AUTHOR_EMAIL=releasetest@example.com",
		"GIT_COMMITTER_NAME=releasetest", "GIT_COMMITTER_EMAIL=releasetest@example.com",
		"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date,
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_CONFIG_NOSYSTEM=1"}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "release snapshot"}} {
		if _, err := gitOut(git, src, env, args...); err != nil {
			return nil, err
		}
	}
	commit, err := gitOut(git, src, env, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	cdate, _ := time.Parse(time.RFC3339, date)

	targets := os.Getenv("FERRY_RELEASE_TARGETS")
	if targets != "all" {
		targets = "ci"
	}
	cmd := exec.Command(gr, "release", "--snapshot", "--clean")
	cmd.Dir = src
	// goreleaser reads the repository's URL from its remote; the copy has
	// none, so one is configured through the environment alone.
	cmd.Env = append(os.Environ(), append(env, "FERRY_RELEASE_TARGETS="+targets,
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=remote.origin.url", "GIT_CONFIG_VALUE_0=https://github.com/ferryhq/ferry.git")...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("goreleaser release --snapshot --clean (FERRY_RELEASE_TARGETS=%s): %v\n%s", targets, err, out)
	}
	fmt.Fprintf(os.Stderr, "releasetest: goreleaser snapshot (FERRY_RELEASE_TARGETS=%s) took %s\n", targets, took.Round(time.Second))

	dist := filepath.Join(src, "dist")
	meta, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		return nil, err
	}
	var md struct{ Version string }
	if err := json.Unmarshal(meta, &md); err != nil || md.Version == "" {
		return nil, fmt.Errorf("dist/metadata.json %s: no version (%v)", meta, err)
	}
	s := &Snapshot{Dist: dist, Source: src, Version: md.Version, Commit: commit, CommitDate: cdate, Targets: targets, Took: took}
	if targets == "all" {
		s.Platforms = Platforms
	} else {
		s.Platforms = []Platform{{"linux", "amd64"}}
	}
	return s, nil
}

func gitOut(git, dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("git %s in %s: %v %s", strings.Join(args, " "), dir, err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}

// copyCheckout copies root's tracked and untracked, not ignored, files
// (the work tree as git sees it, uncommitted changes included) to dst.
func copyCheckout(git, root, dst string) error {
	list, err := gitOut(git, root, nil, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
	if err != nil {
		return err
	}
	for _, name := range strings.Split(list, "\x00") {
		if name == "" {
			continue
		}
		from := filepath.Join(root, filepath.FromSlash(name))
		st, err := os.Lstat(from)
		if err != nil {
			// Deleted in the work tree but not yet in the index.
			continue
		}
		to := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
			continue
		}
		if !st.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, st.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// HostPlatform is the platform tests run on, when it is one ferry is
// released for.
func HostPlatform() (Platform, bool) {
	p := Platform{runtime.GOOS, runtime.GOARCH}
	for _, q := range Platforms {
		if q == p {
			return p, true
		}
	}
	return p, false
}
