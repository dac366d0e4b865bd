package agentbin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/testing/modproxy"
	"github.com/ferryhq/ferry/internal/version"
)

// isolated is a Resolver that sees nothing of this machine: no
// environment, an executable in an empty directory, a working directory
// outside any checkout, a dev version and a cache of its own. Each test
// then opens the one way it tests.
func isolated(t *testing.T) *Resolver {
	t.Helper()
	exeDir, wd := t.TempDir(), t.TempDir()
	dev := version.Info{Version: version.Dev, Source: version.SourceDev}
	return &Resolver{
		Getenv:     func(string) string { return "" },
		Executable: func() (string, error) { return filepath.Join(exeDir, "ferry"), nil },
		Getwd:      func() (string, error) { return wd, nil },
		CacheDir:   t.TempDir(),
		Version:    &dev,
	}
}

func writeAgent(t *testing.T, dir, goos, goarch string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, FileName(goos, goarch))
	if err := os.WriteFile(p, []byte("agent "+goos+"/"+goarch), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileName(t *testing.T) {
	for p, want := range map[Platform]string{
		{"linux", "amd64"}: "ferry-agent-linux-amd64", {"linux", "arm64"}: "ferry-agent-linux-arm64",
		{"windows", "amd64"}: "ferry-agent-windows-amd64.exe", {"windows", "arm64"}: "ferry-agent-windows-arm64.exe",
	} {
		if got := FileName(p.GOOS, p.GOARCH); got != want {
			t.Errorf("FileName(%s) = %q, want %q", p, got, want)
		}
	}
}

func TestEnvDir(t *testing.T) {
	r := isolated(t)
	dir := t.TempDir()
	want := writeAgent(t, dir, "windows", "arm64")
	r.Getenv = func(k string) string {
		if k == EnvDir {
			return dir
		}
		return ""
	}
	// The directory wins over an agent beside the executable.
	exe, _ := r.Executable()
	writeAgent(t, filepath.Join(filepath.Dir(exe), Dir), "windows", "arm64")
	a, err := r.Resolve(context.Background(), "windows", "arm64")
	if err != nil || a.Path != want || a.Way != WayEnv {
		t.Fatalf("Resolve = %+v, %v; want %s from %s", a, err, want, EnvDir)
	}

	// An explicit directory without the agent is an error, not a reason
	// to look elsewhere.
	_, err = r.Resolve(context.Background(), "linux", "amd64")
	var fe *fail.Error
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "ferry-agent-linux-amd64") || len(fe.Hints) == 0 {
		t.Fatalf("missing agent in %s: %v", EnvDir, err)
	}
	r.Getenv = func(string) string { return filepath.Join(dir, "nope") }
	if _, err := r.Agent(context.Background(), "windows", "arm64"); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("%s that does not exist: %v", EnvDir, err)
	}
}

// TestBeside is the release archive: ferry with agents/ next to it,
// reached through a symlink as a package manager's bin/ would.
func TestBeside(t *testing.T) {
	r := isolated(t)
	archive := t.TempDir()
	for _, p := range Platforms {
		writeAgent(t, filepath.Join(archive, Dir), p.GOOS, p.GOARCH)
	}
	ferry := filepath.Join(archive, "ferry")
	if err := os.WriteFile(ferry, []byte("ferry"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	link := filepath.Join(bin, "ferry")
	if err := os.Symlink(ferry, link); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	r.Executable = func() (string, error) { return link, nil }
	for _, p := range Platforms {
		a, err := r.Resolve(context.Background(), p.GOOS, p.GOARCH)
		if err != nil || a.Way != WayBeside || filepath.Dir(a.Path) != filepath.Join(archive, Dir) || filepath.Base(a.Path) != FileName(p.GOOS, p.GOARCH) {
			t.Errorf("Resolve(%s) = %+v, %v", p, a, err)
		}
	}

	// goreleaser's dist/ before archiving, and the older flat dist/.
	r = isolated(t)
	dist := t.TempDir()
	want := writeAgent(t, filepath.Join(dist, Dir), "linux", "arm64")
	r.Executable = func() (string, error) { return filepath.Join(dist, "ferry_linux_amd64_v1", "ferry"), nil }
	if a, err := r.Resolve(context.Background(), "linux", "arm64"); err != nil || a.Path != want {
		t.Errorf("dist/agents: %+v, %v", a, err)
	}
	old := t.TempDir()
	want = writeAgent(t, filepath.Join(old, "dist"), "linux", "arm64")
	r.Executable = func() (string, error) { return filepath.Join(old, "ferry"), nil }
	if a, err := r.Resolve(context.Background(), "linux", "arm64"); err != nil || a.Path != want {
		t.Errorf("flat dist/: %+v, %v", a, err)
	}
}

// TestNone is a ferry with nothing to go on: one failure that says the
// three ways out.
func TestNone(t *testing.T) {
	r := isolated(t)
	r.Go = filepath.Join(t.TempDir(), "no-go-here")
	_, err := r.Resolve(context.Background(), "linux", "amd64")
	var fe *fail.Error
	if !errors.As(err, &fe) {
		t.Fatalf("Resolve: %v, want a *fail.Error", err)
	}
	if fe.ExitCode() != exitcode.Failed {
		t.Errorf("exit code %d", fe.ExitCode())
	}
	msg := err.Error()
	for _, s := range []string{"linux/amd64", EnvDir + " is not set", "beside ferry", "not in ferry's source checkout", "no module version"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q lacks %q", msg, s)
		}
	}
	hints := strings.Join(fe.Hints, "\n")
	for _, s := range []string{"release archive", EnvDir, "install Go", "go install github.com/ferryhq/ferry/cmd/ferry@"} {
		if !strings.Contains(hints, s) {
			t.Errorf("hints %q lack %q", hints, s)
		}
	}
	if len(fe.Hints) != 3 {
		t.Errorf("%d hints, want the three ways: %q", len(fe.Hints), fe.Hints)
	}
	if msg != strings.ToLower(msg[:1])+msg[1:] {
		t.Errorf("error starts with a capital: %q", msg)
	}

	if _, err := r.Resolve(context.Background(), "darwin", "arm64"); fail.Code(err) != exitcode.Usage {
		t.Errorf("darwin agent: %v (code %d), want a usage error", err, fail.Code(err))
	}
}

// TestGoMissingForVersion: a go install'ed ferry on a machine without Go
// says Go is what is missing.
func TestGoMissingForVersion(t *testing.T) {
	r := isolated(t)
	r.Version = &version.Info{Version: "1.2.3", Module: "v1.2.3", Source: version.SourceModule}
	r.Go = filepath.Join(t.TempDir(), "no-go-here")
	_, err := r.Resolve(context.Background(), "windows", "amd64")
	if err == nil || !strings.Contains(err.Error(), "could build it from its module source, but no go tool") {
		t.Fatalf("Resolve: %v", err)
	}
}

func TestModuleVersion(t *testing.T) {
	for _, c := range []struct {
		v    version.Info
		want string
	}{
		{version.Info{Version: "1.2.3", Module: "v1.2.3", Source: version.SourceModule}, "v1.2.3"},
		{version.Info{Version: "1.2.3", Source: version.SourceRelease}, "v1.2.3"},
		{version.Info{Version: "0.0.1-snapshot.abc1234", Source: version.SourceRelease}, ""},
		{version.Info{Version: "0.0.0-20260101000000-abcdef123456+dirty", Module: "v0.0.0-20260101000000-abcdef123456+dirty", Source: version.SourceCheckout}, ""},
		{version.Info{Version: version.Dev, Source: version.SourceDev}, ""},
	} {
		if got := moduleVersion(c.v); got != c.want {
			t.Errorf("moduleVersion(%+v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func needGo(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds ferry-agent with the go tool (skipped with -short)")
	}
}

// runAgent runs a linux/amd64 (host) agent's version command.
func runAgent(t *testing.T, path string) string {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return ""
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", path, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCheckout builds from this checkout with the real go tool, into a
// temporary cache, and reuses the build on the next call.
func TestCheckout(t *testing.T) {
	needGo(t)
	r := isolated(t)
	wd, _ := os.Getwd()
	mod, ok := FindModule(wd)
	if !ok {
		t.Fatalf("no checkout above %s", wd)
	}
	r.Getwd = os.Getwd
	var log bytes.Buffer
	r.Log = &log
	a, err := r.Resolve(context.Background(), "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if a.Way != WayCheckout || a.From != mod || !a.Built || !strings.HasPrefix(a.Path, r.CacheDir) {
		t.Errorf("Resolve = %+v", a)
	}
	if out := runAgent(t, a.Path); out != "" && !strings.HasPrefix(out, "ferry-agent src-") {
		t.Errorf("agent version %q", out)
	}
	if !strings.Contains(log.String(), "building ferry-agent src-") {
		t.Errorf("log %q", log.String())
	}
	log.Reset()
	again, err := New(nil).withFrom(r).Resolve(context.Background(), "linux", "amd64")
	if err != nil || again.Path != a.Path || again.Built || log.Len() != 0 {
		t.Errorf("second Resolve = %+v, %v, log %q: want the cached build", again, err, log.String())
	}
	assertOnly(t, filepath.Dir(a.Path), "ferry-agent-linux-amd64")
}

// withFrom copies r's inputs into a fresh Resolver: a second ferry
// process, which has only the cache on disk in common with the first.
func (r *Resolver) withFrom(o *Resolver) *Resolver {
	r.Getenv, r.Executable, r.Getwd, r.CacheDir, r.Version, r.Go, r.GoEnv, r.Log = o.Getenv, o.Executable, o.Getwd, o.CacheDir, o.Version, o.Go, o.GoEnv, o.Log
	return r
}

// assertOnly checks dir holds exactly names: only the platforms asked
// for were built, and no temporary file was left.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

// TestModule is a ferry installed with go install module@v0.7.0 on a
// machine with Go: the agent is built from that version's own source,
// fetched through GOPROXY (a proxy on disk holding this checkout's
// packages as v0.7.0) into an empty module cache, and cached by version.
func TestModule(t *testing.T) {
	needGo(t)
	wd, _ := os.Getwd()
	mod, ok := FindModule(wd)
	if !ok {
		t.Fatalf("no checkout above %s", wd)
	}
	proxy := modproxy.New(t)
	proxy.Publish(t, version.ModulePath, "v0.7.0", modproxy.PackageFiles(t, mod, version.ModulePath, "./cmd/ferry-agent"))

	r := isolated(t)
	r.Version = &version.Info{Version: "0.7.0", Module: "v0.7.0", Source: version.SourceModule}
	r.GoEnv = modproxy.Env(filepath.Join(t.TempDir(), "modcache"), proxy.URL(), modproxy.RealDownloadCache(t))
	a, err := r.Resolve(context.Background(), "linux", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(r.CacheDir, "0.7.0", "ferry-agent-linux-amd64")
	if a.Way != WayModule || a.Path != want || !a.Built || a.From != version.ModulePath+"@v0.7.0" {
		t.Errorf("Resolve = %+v, want %s built", a, want)
	}
	if out := runAgent(t, a.Path); out != "" && !strings.HasPrefix(out, "ferry-agent 0.7.0 ") {
		t.Errorf("agent version %q, want 0.7.0", out)
	}

	w, err := r.Resolve(context.Background(), "windows", "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(w.Path); err != nil || !bytes.HasPrefix(b, []byte("MZ")) {
		t.Errorf("%s is not a Windows executable: %v", w.Path, err)
	}
	assertOnly(t, filepath.Dir(a.Path), "ferry-agent-linux-amd64", "ferry-agent-windows-amd64.exe")

	// Cached by version: a second ferry finds it without the proxy.
	r2 := New(nil).withFrom(r)
	r2.GoEnv = modproxy.Env(filepath.Join(t.TempDir(), "empty"), "off")
	if again, err := r2.Resolve(context.Background(), "linux", "amd64"); err != nil || again.Path != want || again.Built {
		t.Errorf("second Resolve = %+v, %v", again, err)
	}

	// A version the proxy does not have: the download's error is named
	// among what was tried.
	r3 := isolated(t)
	r3.Version = &version.Info{Version: "0.7.1", Module: "v0.7.1", Source: version.SourceModule}
	r3.GoEnv = r.GoEnv
	_, err = r3.Resolve(context.Background(), "linux", "amd64")
	if err == nil || !strings.Contains(err.Error(), "could not be downloaded") || fail.Code(err) != exitcode.Failed {
		t.Errorf("missing version: %v", err)
	}
}

// TestSize holds the agents to the 3 MB download they are promised to
// be, compressed, built as releases and agentbin build them.
func TestSize(t *testing.T) {
	needGo(t)
	wd, _ := os.Getwd()
	mod, _ := FindModule(wd)
	for _, p := range []Platform{{"linux", "amd64"}, {"windows", "amd64"}} {
		out := filepath.Join(t.TempDir(), FileName(p.GOOS, p.GOARCH))
		r := &Resolver{}
		if err := r.build(context.Background(), "go", mod, "./cmd/ferry-agent", "1.2.3", p, out); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := CompressedSize(out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d gzipped", p, st.Size(), gz)
		if gz > MaxCompressedSize {
			t.Errorf("%s agent is %d bytes gzipped, over %d", p, gz, MaxCompressedSize)
		}
	}
}

// TestGoreleaserConfig holds .goreleaser.yaml's agent build to what this
// package builds and looks for: the same platforms, tags and names, so a
// release agent and a built one differ in nothing but the version.
func TestGoreleaserConfig(t *testing.T) {
	wd, _ := os.Getwd()
	mod, _ := FindModule(wd)
	b, err := os.ReadFile(filepath.Join(mod, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Env    []string
		Builds []struct {
			ID, Main, Binary string
			Goos, Goarch     []string
			Flags, Tags      []string
			Ldflags          []string
			NoUniqueDistDir  bool `yaml:"no_unique_dist_dir"`
		}
		Archives []struct {
			Files []struct{ Src, Dst string }
		}
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.Env, "CGO_ENABLED=0") {
		t.Errorf("env %q lacks CGO_ENABLED=0", cfg.Env)
	}
	found := false
	for _, bld := range cfg.Builds {
		if bld.Main != "./cmd/ferry-agent" {
			continue
		}
		found = true
		var plats []Platform
		for _, goos := range bld.Goos {
			for _, goarch := range bld.Goarch {
				plats = append(plats, Platform{goos, goarch})
			}
		}
		if !slices.Equal(plats, Platforms) {
			t.Errorf("agent platforms %v, want %v", plats, Platforms)
		}
		if bld.Binary != Dir+"/ferry-agent-{{ .Os }}-{{ .Arch }}" || !bld.NoUniqueDistDir {
			t.Errorf("agent binary %q (no_unique_dist_dir %v): want %s/ferry-agent-{{ .Os }}-{{ .Arch }} in one directory", bld.Binary, bld.NoUniqueDistDir, Dir)
		}
		if !slices.Equal(bld.Tags, BuildTags) {
			t.Errorf("agent tags %q, want %q", bld.Tags, BuildTags)
		}
		if !slices.Contains(bld.Flags, "-trimpath") {
			t.Errorf("agent flags %q lack -trimpath", bld.Flags)
		}
		ld := strings.Join(bld.Ldflags, " ")
		for _, want := range []string{"-s -w", version.ModulePath + "/internal/version.version="} {
			if !strings.Contains(ld, want) {
				t.Errorf("agent ldflags %q lack %q (Flags has it)", ld, want)
			}
			if !strings.Contains(strings.Join(Flags("x"), " "), want) {
				t.Errorf("Flags lacks %q", want)
			}
		}
	}
	if !found {
		t.Fatal(".goreleaser.yaml has no build of ./cmd/ferry-agent")
	}
	dst := false
	for _, a := range cfg.Archives {
		for _, f := range a.Files {
			dst = dst || (f.Dst == Dir && strings.Contains(f.Src, "ferry-agent-"))
		}
	}
	if !dst {
		t.Errorf("no archive puts the agents under %s/", Dir)
	}
}
