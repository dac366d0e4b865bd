package version

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/modproxy"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

const printPkg = ModulePath + "/internal/version/testdata/printversion"

func TestCompute(t *testing.T) {
	vcs := func(rev, tm, mod string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: mod}}
	}
	bi := func(v string, s []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: ModulePath, Version: v}, Settings: s}
	}
	const sha = "0123456789abcdef0123456789abcdef01234567"
	cases := []struct {
		name          string
		ldV, ldC, ldD string
		bi            *debug.BuildInfo
		want          Info
		wantString    string
	}{
		{name: "release", ldV: "v1.2.3", ldC: sha, ldD: "2026-01-02T03:04:05Z", bi: bi("(devel)", vcs("ffff", "2020-01-01T00:00:00Z", "true")),
			want:       Info{Version: "1.2.3", Commit: sha, Date: "2026-01-02T03:04:05Z", Source: SourceRelease},
			wantString: "1.2.3 (commit 0123456789ab, 2026-01-02T03:04:05Z, go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
		{name: "release without commit keeps the stamp", ldV: "1.2.3", bi: bi("(devel)", vcs(sha, "2020-01-01T00:00:00Z", "true")),
			want: Info{Version: "1.2.3", Commit: sha, Date: "2020-01-01T00:00:00Z", Modified: true, Source: SourceRelease}},
		{name: "go install", bi: bi("v1.4.0", nil),
			want:       Info{Version: "1.4.0", Module: "v1.4.0", Source: SourceModule},
			wantString: "1.4.0 (go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
		{name: "checkout", bi: bi("(devel)", vcs(sha, "2026-03-04T05:06:07Z", "true")),
			want:       Info{Version: Dev, Commit: sha, Date: "2026-03-04T05:06:07Z", Modified: true, Source: SourceCheckout},
			wantString: "dev (commit 0123456789ab with local changes, 2026-03-04T05:06:07Z, go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
		{name: "checkout with a stamped pseudo-version", bi: bi("v0.0.0-20260304050607-0123456789ab", vcs(sha, "2026-03-04T05:06:07Z", "false")),
			want: Info{Version: "0.0.0-20260304050607-0123456789ab", Module: "v0.0.0-20260304050607-0123456789ab", Commit: sha, Date: "2026-03-04T05:06:07Z", Source: SourceCheckout}},
		{name: "another main module is not ferry's version", bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/other", Version: "v9.9.9"}},
			want: Info{Version: Dev, Source: SourceDev}},
		{name: "no build info", want: Info{Version: Dev, Source: SourceDev}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := compute(c.ldV, c.ldC, c.ldD, c.bi)
			c.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			c.want.GoVersion = got.GoVersion // the stub's or the runtime's
			if got != c.want {
				t.Errorf("compute:\n got %+v\nwant %+v", got, c.want)
			}
			if c.wantString != "" && got.String() != c.wantString {
				t.Errorf("String() = %q, want %q", got.String(), c.wantString)
			}
			var back Info
			if err := json.Unmarshal(got.JSON(), &back); err != nil || back != got {
				t.Errorf("JSON round trip: %s → %+v, %v", got.JSON(), back, err)
			}
		})
	}
}

func TestJSONNames(t *testing.T) {
	got := string(Info{Version: "1.2.3", Module: "v1.2.3", Commit: "abc", Date: "d", Modified: true, GoVersion: "go1", Platform: "linux/amd64", Source: SourceModule}.JSON())
	want := `{"version":"1.2.3","module":"v1.2.3","commit":"abc","date":"d","modified":true,"go":"go1","platform":"linux/amd64","source":"module"}`
	if got != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
}

// run builds nothing: it runs a built printversion and decodes its output.
func run(t *testing.T, exe string) (Info, string) {
	t.Helper()
	out, err := exec.Command(exe).Output()
	if err != nil {
		t.Fatalf("%s: %v", exe, err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)
	if len(lines) != 2 {
		t.Fatalf("printversion printed %q", out)
	}
	var info Info
	if err := json.Unmarshal([]byte(lines[0]), &info); err != nil {
		t.Fatalf("printversion JSON %q: %v", lines[0], err)
	}
	return info, lines[1]
}

func goBuild(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestLdflags builds a binary the way a release does and runs it.
func TestLdflags(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "printversion")
	const sha = "89abcdef0123456789abcdef0123456789abcdef"
	goBuild(t, ".", []string{"CGO_ENABLED=0"}, "-trimpath", "-o", exe, "-ldflags",
		"-X "+ModulePath+"/internal/version.version=2.3.4-rc.1 -X "+ModulePath+"/internal/version.commit="+sha+
			" -X "+ModulePath+"/internal/version.date=2026-05-06T07:08:09Z", "./testdata/printversion")
	info, line := run(t, exe)
	if info.Version != "2.3.4-rc.1" || info.Commit != sha || info.Date != "2026-05-06T07:08:09Z" || info.Source != SourceRelease {
		t.Errorf("release build reports %+v", info)
	}
	if info.GoVersion != runtime.Version() {
		t.Errorf("GoVersion %q, want %q", info.GoVersion, runtime.Version())
	}
	if want := "2.3.4-rc.1 (commit 89abcdef0123, 2026-05-06T07:08:09Z, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"; line != want {
		t.Errorf("String: %q, want %q", line, want)
	}
}

// miniModule is the smallest copy of ferry's module that builds
// printversion: version has no dependencies, so no go.sum is needed.
func miniModule(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"go.mod": []byte("module " + ModulePath + "\n\ngo 1.26\n")}
	for _, name := range []string{"version.go", "testdata/printversion/main.go"} {
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		files["internal/version/"+name] = b
	}
	return files
}

// TestCheckout builds in a real git checkout: the VCS stamps are the
// version, and an uncommitted change shows.
func TestCheckout(t *testing.T) {
	git := testtool.Need(t, "git")
	dir := t.TempDir()
	for name, b := range miniModule(t) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitEnv := []string{"GIT_AUTHOR_DATE=2026-02-03T04:05:06Z", "GIT_COMMITTER_DATE=2026-02-03T04:05:06Z",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_CONFIG_NOSYSTEM=1"}
	gitRun := func(args ...string) string {
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), gitEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	gitRun("init", "-q")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "v")
	rev := gitRun("rev-parse", "HEAD")

	// GOFLAGS is cleared: a developer's go env may say -buildvcs=false.
	env := []string{"GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0"}
	exe := filepath.Join(t.TempDir(), "printversion")
	goBuild(t, dir, env, "-buildvcs=true", "-o", exe, "./internal/version/testdata/printversion")
	info, _ := run(t, exe)
	if info.Source != SourceCheckout || info.Commit != rev || info.Date != "2026-02-03T04:05:06Z" || info.Modified {
		t.Errorf("clean checkout build reports %+v, want commit %s", info, rev)
	}
	// Go 1.24 and later stamp a pseudo-version from the commit.
	if info.Version != Dev && !strings.HasSuffix(info.Version, rev[:12]) {
		t.Errorf("checkout version %q is neither dev nor a pseudo-version of %s", info.Version, rev[:12])
	}

	if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	goBuild(t, dir, env, "-buildvcs=true", "-o", exe, "./internal/version/testdata/printversion")
	if info, line := run(t, exe); !info.Modified || !strings.Contains(line, "with local changes") {
		t.Errorf("dirty checkout build reports %+v / %q", info, line)
	}

	// The same source without VCS information is dev.
	goBuild(t, dir, env, "-buildvcs=false", "-o", exe, "./internal/version/testdata/printversion")
	if info, _ := run(t, exe); info.Version != Dev || info.Source != SourceDev || info.Commit != "" {
		t.Errorf("build without VCS stamps reports %+v", info)
	}
}

// TestGoInstall installs printversion with `go install module@v1.4.2`
// from a module proxy on disk, as a user installs ferry.
func TestGoInstall(t *testing.T) {
	proxy := modproxy.New(t)
	proxy.Publish(t, ModulePath, "v1.4.2", miniModule(t))
	bin, work := t.TempDir(), t.TempDir()
	cmd := exec.Command("go", "install", printPkg+"@v1.4.2")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), append(modproxy.Env(filepath.Join(t.TempDir(), "modcache"), proxy.URL()), "GOBIN="+bin, "CGO_ENABLED=0")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	exe := filepath.Join(bin, "printversion")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	info, _ := run(t, exe)
	if info.Version != "1.4.2" || info.Module != "v1.4.2" || info.Source != SourceModule || info.Commit != "" {
		t.Errorf("go install build reports %+v", info)
	}
}

// TestGet is the test binary's own version: go test builds without
// linker flags, and the answer is stable across calls.
func TestGet(t *testing.T) {
	a, b := Get(), Get()
	if a != b || a.Source == SourceRelease || a.Version == "" || a.GoVersion != runtime.Version() {
		t.Errorf("Get() = %+v then %+v", a, b)
	}
}
