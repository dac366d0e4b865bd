package releasetest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/testing/acttest"
)

// releases is a loopback HTTP server laid out like GitHub's release
// downloads: <base>/v<version>/<file>. It counts what was asked of it,
// so a test can tell a download from a tool-cache hit.
type releases struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte // URL path → content
	requests []string
}

func serveReleases(t *testing.T, files map[string][]byte) *releases {
	t.Helper()
	r := &releases{files: files}
	// httptest listens on 127.0.0.1 only.
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.URL.Path)
		b, ok := r.files[req.URL.Path]
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(r.Close)
	return r
}

// taken returns and forgets the paths requested so far.
func (r *releases) taken() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

// releaseFiles is the linux/amd64 archive and checksums.txt of s, at
// the paths GitHub serves them.
func releaseFiles(t *testing.T, s *Snapshot) (map[string][]byte, string) {
	t.Helper()
	name := ArchiveName(s.Version, Platform{"linux", "amd64"})
	files := map[string][]byte{}
	for _, f := range []string{name, "checksums.txt"} {
		b, err := os.ReadFile(filepath.Join(s.Dist, f))
		if err != nil {
			t.Fatal(err)
		}
		files["/v"+s.Version+"/"+f] = b
	}
	return files, name
}

// actionRepo is a repository holding the action (action.yml and its
// script, as this checkout has them) and one workflow that uses it.
func actionRepo(t *testing.T, s *Snapshot, workflow string) string {
	t.Helper()
	files := map[string][]byte{".github/workflows/setup.yml": []byte(workflow)}
	for _, f := range []string{"action.yml", "scripts/setup-ferry.sh"} {
		b, err := os.ReadFile(filepath.Join(s.Source, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	return acttest.Repo(t, files)
}

// setupWorkflow installs ferry with the action at ./ (as a repository
// that vendors it, or ferryhq/ferry's own CI, uses it) and runs it.
func setupWorkflow(version, base string) string {
	return `on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      # act copies this repository instead of checking it out.
      - uses: actions/checkout@v4
      - id: ferry
        uses: ./
        with:
          version: "` + version + `"
          download-url: "` + base + `"
      - name: outputs
        env:
          VERSION: ${{ steps.ferry.outputs.version }}
          FERRY_PATH: ${{ steps.ferry.outputs.path }}
          CACHE_HIT: ${{ steps.ferry.outputs.cache-hit }}
        run: |
          echo "output version=$VERSION"
          echo "output path=$FERRY_PATH"
          echo "output cache-hit=$CACHE_HIT"
          echo "which ferry=$(command -v ferry)"
          ls "$(dirname "$FERRY_PATH")/agents"
      - name: ferry --version
        run: ferry --version
      - name: ferry version
        run: ferry version
      # The whole job offline, from the workspace (not ferry's checkout):
      # the sandbox, examples/hello (embedded in ferry) deployed through
      # SSM with the agents the action installed beside ferry.
      # (Once: the second run only proves the tool cache.)
      - name: ferry demo
        if: steps.ferry.outputs.cache-hit != 'true'
        run: ferry demo
`
}

var outputRE = regexp.MustCompile(`output (version|path|cache-hit)=(\S*)`)

func outputs(out string) map[string]string {
	m := map[string]string{}
	for _, sm := range outputRE.FindAllStringSubmatch(out, -1) {
		m[sm[1]] = sm[2]
	}
	return m
}

func needActHost(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("act runs ubuntu-latest jobs on this host; the action test serves the linux/amd64 archive, and this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
}

// TestAction installs the snapshot through the action under act, from a
// loopback mirror, then again: the second run is a tool-cache hit that
// downloads nothing.
func TestAction(t *testing.T) {
	needActHost(t)
	act := acttest.Need(t)
	s := Build(t)
	files, archive := releaseFiles(t, s)
	srv := serveReleases(t, files)
	repo := actionRepo(t, s, setupWorkflow(s.Version, srv.URL))
	cache := t.TempDir()
	opts := acttest.Options{Repo: repo, Workflow: ".github/workflows/setup.yml", CacheDir: cache}
	ctx := context.Background()
	toolDir := filepath.Join(cache, "tool_cache", "ferry", s.Version, "x64")

	first := acttest.Run(ctx, t, act, opts)
	if !first.Succeeded() {
		t.Fatalf("first run failed (exit %d)", first.ExitCode)
	}
	o := outputs(first.Output)
	if o["version"] != s.Version || o["cache-hit"] != "false" || o["path"] != filepath.Join(toolDir, "ferry") {
		t.Errorf("first run outputs %v, want version %s, cache-hit false, path in %s", o, s.Version, toolDir)
	}
	if !strings.Contains(first.Output, "which ferry="+filepath.Join(toolDir, "ferry")) {
		t.Errorf("ferry on PATH is not the tool cache's")
	}
	if n := strings.Count(first.Output, "ferry version "+s.Version+" (commit "); n < 2 {
		t.Errorf("ferry --version and ferry version printed %s %d times, want both", s.Version, n)
	}
	if !strings.Contains(first.Output, "Success - Main ferry demo") || !strings.Contains(first.Output, "All 3 instances serve") {
		t.Errorf("ferry demo did not end with every instance serving")
	}
	for _, a := range agentbin.Platforms {
		if _, err := os.Stat(filepath.Join(toolDir, agentbin.Dir, agentbin.FileName(a.GOOS, a.GOARCH))); err != nil {
			t.Errorf("agent beside the installed ferry: %v", err)
		}
	}
	if _, err := os.Stat(toolDir + ".complete"); err != nil {
		t.Errorf("tool cache marker: %v", err)
	}
	got := strings.Join(srv.taken(), " ")
	if want := "/v" + s.Version + "/checksums.txt /v" + s.Version + "/" + archive; got != want {
		t.Errorf("first run requested %q, want %q", got, want)
	}

	second := acttest.Run(ctx, t, act, opts)
	if !second.Succeeded() {
		t.Fatalf("second run failed (exit %d)", second.ExitCode)
	}
	if o := outputs(second.Output); o["cache-hit"] != "true" || o["version"] != s.Version {
		t.Errorf("second run outputs %v, want a cache hit of %s", o, s.Version)
	}
	if !strings.Contains(second.Output, "found in the tool cache") {
		t.Errorf("second run does not say it used the tool cache")
	}
	if reqs := srv.taken(); len(reqs) != 0 {
		t.Errorf("second run downloaded %q; want nothing", reqs)
	}
}

// TestActionRefusesTampered: an archive that does not match
// checksums.txt fails the action and installs nothing; so does a mirror
// without a version, which has no "latest" to fall back on.
func TestActionRefusesTampered(t *testing.T) {
	needActHost(t)
	act := acttest.Need(t)
	s := Build(t)
	files, archive := releaseFiles(t, s)
	key := "/v" + s.Version + "/" + archive
	bad := append([]byte(nil), files[key]...)
	bad[len(bad)/2] ^= 0xff
	files[key] = bad
	srv := serveReleases(t, files)
	ctx := context.Background()

	cache := t.TempDir()
	res := acttest.Run(ctx, t, act, acttest.Options{Repo: actionRepo(t, s, setupWorkflow(s.Version, srv.URL)), Workflow: ".github/workflows/setup.yml", CacheDir: cache})
	if res.Succeeded() || res.ExitCode == 0 {
		t.Fatalf("a tampered archive was accepted")
	}
	if !strings.Contains(res.Output, "checksum mismatch for "+archive) {
		t.Errorf("the failure does not name the checksum mismatch")
	}
	if strings.Contains(res.Output, "output version=") {
		t.Errorf("steps after the failed setup ran")
	}
	if _, err := os.Stat(filepath.Join(cache, "tool_cache", "ferry", s.Version)); !os.IsNotExist(err) {
		t.Errorf("the tampered release reached the tool cache: %v", err)
	}

	res = acttest.Run(ctx, t, act, acttest.Options{Repo: actionRepo(t, s, setupWorkflow("", srv.URL)), Workflow: ".github/workflows/setup.yml", CacheDir: t.TempDir()})
	if res.ExitCode == 0 || !strings.Contains(res.Output, "version is required with a download-url mirror") {
		t.Errorf("a mirror without a version: exit %d, want the failure that asks for a version", res.ExitCode)
	}
}
