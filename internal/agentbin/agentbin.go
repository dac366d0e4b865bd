// Package agentbin finds the ferry-agent binary for a server platform,
// wherever ferry came from: ferry never runs the agent itself, it uploads
// the one for each server's GOOS/GOARCH, so it needs binaries of
// platforms other than its own.
//
// A Resolver looks, in order:
//
//  1. FERRY_AGENT_DIR, when set (and only there: an explicit directory
//     that lacks the agent is an error, not a reason to look elsewhere);
//  2. beside the running executable, in the release archive's layout
//     (agents/ferry-agent-<goos>-<goarch>[.exe] next to ferry; also
//     goreleaser's dist/agents/ one level up, and the older flat dist/);
//  3. ferry's source checkout (the working directory's module): built
//     there with the go tool, cached by a hash of the sources; without a
//     go tool, a snapshot's dist/agents/ in the checkout;
//  4. for a ferry installed with `go install …@version` (or a release
//     ferry copied without its agents/): built from that exact module
//     version's source (`go mod download`, then `go build` in the module
//     cache) with the local go tool, cached by version under
//     os.UserCacheDir()/ferry/agents/<version>/.
//
// Only the platform asked for is resolved, so a Windows-only fleet never
// needs (or builds) a Linux agent. When no way works, the error is one
// *fail.Error naming what was tried and the three ways to get agents.
package agentbin

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/version"
)

// Source supplies ferry-agent binaries; it is the ssm transport's
// AgentSource, so a *Resolver can be passed wherever one is wanted.
type Source interface {
	// Agent returns the path of ferry-agent built for goos and goarch.
	Agent(ctx context.Context, goos, goarch string) (string, error)
}

// Platform is a server platform ferry ships an agent for.
type Platform struct{ GOOS, GOARCH string }

// String is "goos/goarch".
func (p Platform) String() string { return p.GOOS + "/" + p.GOARCH }

// Platforms are every agent a release carries: servers are Linux or
// Windows, on amd64 or arm64.
var Platforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}}

// Dir is the directory beside ferry, in a release archive, that holds
// every platform's agent.
const Dir = "agents"

// EnvDir is the variable that names a directory of agents.
const EnvDir = "FERRY_AGENT_DIR"

// Package is ferry-agent's import path.
const Package = version.ModulePath + "/cmd/ferry-agent"

// BuildTags are the tags every ferry-agent build uses (.goreleaser.yaml
// says the same, and a test holds the two equal): the agent speaks
// HTTP/1.1 only, and without the bundled HTTP/2 the compressed agent
// stays under 3 MB.
var BuildTags = []string{"nethttpomithttp2"}

// MaxCompressedSize is the most one agent may weigh gzipped (bytes), as
// the release archives carry it: what a runner downloads, and what every
// server will download once agents are shipped compressed (today the ssm
// transport uploads them as they are). The release test and agentbin's
// tests hold the agents to it.
const MaxCompressedSize = 3_000_000

// CompressedSize is the size of the file at path gzipped at the best
// level, as goreleaser's tar.gz archives compress it.
func CompressedSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n countWriter
	zw, _ := gzip.NewWriterLevel(&n, gzip.BestCompression)
	if _, err := io.Copy(zw, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(n), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// FileName is how the agent for goos/goarch is named in an agent
// directory: ferry-agent-linux-amd64, ferry-agent-windows-arm64.exe.
func FileName(goos, goarch string) string {
	name := "ferry-agent-" + goos + "-" + goarch
	if goos == "windows" {
		name += ".exe"
	}
	return name
}

// Way says how an agent was found.
type Way string

// The ways, in the order a Resolver tries them.
const (
	WayEnv      Way = "FERRY_AGENT_DIR"
	WayBeside   Way = "beside ferry"
	WayCheckout Way = "source checkout"
	WayModule   Way = "module source"
)

// Agent is a resolved binary.
type Agent struct {
	Platform
	// Path is the binary.
	Path string
	// Way is how it was found; From says where (a directory, a checkout,
	// a module version).
	Way  Way
	From string
	// Built is true when this call built it (not found, not cached).
	Built bool
}

// Resolver finds agents; its zero value is usable and sees no
// environment variables. Fields replace what it asks the process, so
// tests (and the CLI's in-process tests) control every input.
type Resolver struct {
	// Getenv reads FERRY_AGENT_DIR; nil reads nothing (never os.Getenv,
	// so the CLI's injected environment is the only one).
	Getenv func(string) string
	// Executable is the running ferry; nil is os.Executable.
	Executable func() (string, error)
	// Getwd is where to look for a source checkout; nil is os.Getwd.
	Getwd func() (string, error)
	// CacheDir holds built agents; "" is os.UserCacheDir()/ferry/agents.
	CacheDir string
	// Version is the running ferry's; nil is version.Get().
	Version *version.Info
	// Go is the go tool; "" looks up "go" on PATH.
	Go string
	// GoEnv is added to the go tool's environment (the process's own,
	// which the go tool needs: PATH, HOME, GOPATH, proxies).
	GoEnv []string
	// Log, when set, gets a line before each build: a build takes from
	// seconds to a minute, and a silent pause looks like a hang.
	Log io.Writer

	mu      sync.Mutex // one build at a time, and the fields below
	srcKey  map[string]string
	modDirs map[string]string
}

// New returns a Resolver that reads FERRY_AGENT_DIR through getenv and
// asks the process for everything else.
func New(getenv func(string) string) *Resolver { return &Resolver{Getenv: getenv} }

// InDir is a Resolver that takes agents from dir alone, as
// FERRY_AGENT_DIR=dir would (tests, and callers that hold a directory of
// prebuilt agents).
func InDir(dir string) *Resolver {
	return &Resolver{Getenv: func(k string) string {
		if k == EnvDir {
			return dir
		}
		return ""
	}}
}

// Agent implements Source.
func (r *Resolver) Agent(ctx context.Context, goos, goarch string) (string, error) {
	a, err := r.Resolve(ctx, goos, goarch)
	return a.Path, err
}

// Resolve finds (or builds) the agent for goos/goarch and says how.
func (r *Resolver) Resolve(ctx context.Context, goos, goarch string) (Agent, error) {
	p := Platform{goos, goarch}
	known := false
	for _, q := range Platforms {
		known = known || q == p
	}
	if !known {
		return Agent{}, fail.New(exitcode.Usage, fmt.Errorf("no ferry-agent is made for %s", p),
			"servers run Linux or Windows on amd64 or arm64")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var tried []string
	note := func(format string, args ...any) { tried = append(tried, fmt.Sprintf(format, args...)) }
	name := FileName(goos, goarch)

	// 1. FERRY_AGENT_DIR.
	if dir := r.getenv(EnvDir); dir != "" {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			return Agent{}, fail.New(exitcode.Failed, fmt.Errorf("%s %s is not a directory", EnvDir, dir),
				fmt.Sprintf("point %s at a directory holding %s (a release archive's %s/ directory), or unset it", EnvDir, name, Dir))
		}
		path := filepath.Join(dir, name)
		if err := regular(path); err != nil {
			return Agent{}, fail.New(exitcode.Failed, fmt.Errorf("no ferry-agent for %s in %s: %w", p, EnvDir, err),
				fmt.Sprintf("copy %s from the release archive's %s/ directory into %s, or unset %s to let ferry find or build it", name, Dir, dir, EnvDir),
				fmt.Sprintf("or build it: CGO_ENABLED=0 GOOS=%s GOARCH=%s go build -trimpath -tags %s -o %s %s", goos, goarch, strings.Join(BuildTags, ","), path, Package))
		}
		return Agent{Platform: p, Path: path, Way: WayEnv, From: dir}, nil
	}
	note("%s is not set", EnvDir)

	// 2. Beside the executable.
	if dirs := r.besideDirs(); len(dirs) > 0 {
		for _, dir := range dirs {
			if path := filepath.Join(dir, name); regular(path) == nil {
				return Agent{Platform: p, Path: path, Way: WayBeside, From: dir}, nil
			}
		}
		note("no %s beside ferry (looked in %s)", name, strings.Join(dirs, ", "))
	}

	// 3. The source checkout.
	goTool, goErr := r.goTool()
	if mod, ok := r.checkout(); ok {
		if goErr == nil {
			a, err := r.buildCheckout(ctx, goTool, mod, p)
			if err != nil {
				return Agent{}, err
			}
			return a, nil
		}
		dist := filepath.Join(mod, "dist", Dir)
		if path := filepath.Join(dist, name); regular(path) == nil {
			return Agent{Platform: p, Path: path, Way: WayCheckout, From: dist}, nil
		}
		note("in ferry's checkout %s, but %s and no %s in %s", mod, goErr, name, dist)
	} else {
		note("the working directory is not in ferry's source checkout")
	}

	// 4. The module's own source, at ferry's version.
	v := r.version()
	if mv := moduleVersion(v); mv == "" {
		note("this ferry (version %s) names no module version to build the agent from", v.Version)
	} else if goErr != nil {
		note("ferry %s could build it from its module source, but %s", v.Version, goErr)
	} else {
		a, err := r.buildModule(ctx, goTool, mv, p)
		var un unavailable
		if !errors.As(err, &un) {
			return a, err
		}
		note("%v", un.err)
	}

	return Agent{}, fail.New(exitcode.Failed, fmt.Errorf("no ferry-agent for %s: %s", p, strings.Join(tried, "; ")),
		"run the ferry of a release archive (https://github.com/ferryhq/ferry/releases, or the ferryhq/ferry GitHub Action): its "+Dir+"/ directory beside ferry holds every server's agent",
		fmt.Sprintf("or set %s to a directory holding %s (names: ferry-agent-<goos>-<goarch>, .exe on Windows)", EnvDir, name),
		"or install Go (https://go.dev/dl/): a ferry installed with go install github.com/ferryhq/ferry/cmd/ferry@VERSION, or run in its source checkout, builds the agent itself")
}

func (r *Resolver) getenv(k string) string {
	if r.Getenv == nil {
		return ""
	}
	return r.Getenv(k)
}

func (r *Resolver) version() version.Info {
	if r.Version != nil {
		return *r.Version
	}
	return version.Get()
}

// regular is nil when path is a regular file (or a link to one).
func regular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s does not exist", path)
		}
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file", path)
	}
	return nil
}

// besideDirs are the agent directories a ferry executable may have next
// to it: agents/ (the release archive), ../agents/ (goreleaser's dist/
// before archiving: dist/ferry_linux_amd64_v1/ferry and dist/agents/),
// and dist/ (the flat layout of earlier versions). Both the path the
// executable was started by and its real path are tried, so a symlink
// in PATH (a package manager's bin/) still finds the archive's agents.
func (r *Resolver) besideDirs() []string {
	exe := r.Executable
	if exe == nil {
		exe = os.Executable
	}
	path, err := exe()
	if err != nil || path == "" {
		return nil
	}
	paths := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		paths = append(paths, real)
	}
	var dirs []string
	seen := map[string]bool{}
	for _, p := range paths {
		d := filepath.Dir(p)
		for _, c := range []string{filepath.Join(d, Dir), filepath.Join(filepath.Dir(d), Dir), filepath.Join(d, "dist")} {
			if !seen[c] {
				seen[c] = true
				dirs = append(dirs, c)
			}
		}
	}
	return dirs
}

func (r *Resolver) goTool() (string, error) {
	name := r.Go
	if name == "" {
		name = "go"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("no go tool (%s) to build it", name)
	}
	return p, nil
}

func (r *Resolver) checkout() (string, bool) {
	getwd := r.Getwd
	if getwd == nil {
		getwd = os.Getwd
	}
	wd, err := getwd()
	if err != nil {
		return "", false
	}
	return FindModule(wd)
}

func (r *Resolver) cacheDir() string {
	if r.CacheDir != "" {
		return r.CacheDir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "ferry", "agents")
}

// buildCheckout builds from a checkout, cached under a key of its
// sources: a changed line rebuilds, an unchanged tree never does.
func (r *Resolver) buildCheckout(ctx context.Context, goTool, mod string, p Platform) (Agent, error) {
	if r.srcKey == nil {
		r.srcKey = map[string]string{}
	}
	key, ok := r.srcKey[mod]
	if !ok {
		var err error
		if key, err = sourceKey(ctx, goTool, mod); err != nil {
			return Agent{}, fail.New(exitcode.Failed, fmt.Errorf("hash ferry-agent's sources in %s: %w", mod, err),
				"check that the checkout is readable, or set "+EnvDir+" to a directory of prebuilt agents")
		}
		r.srcKey[mod] = key
	}
	label := "src-" + key[:12]
	out := filepath.Join(r.cacheDir(), "src-"+key[:32], FileName(p.GOOS, p.GOARCH))
	a := Agent{Platform: p, Path: out, Way: WayCheckout, From: mod}
	if regular(out) == nil {
		return a, nil
	}
	if err := r.build(ctx, goTool, mod, "./cmd/ferry-agent", label, p, out); err != nil {
		return Agent{}, fail.New(exitcode.Failed, fmt.Errorf("build ferry-agent for %s from the checkout %s: %w", p, mod, err),
			"fix the build (go build ./cmd/ferry-agent shows the same errors), or set "+EnvDir+" to a directory of prebuilt agents")
	}
	a.Built = true
	return a, nil
}

// moduleVersion is the module version to fetch ferry's source at: what
// `go install module@version` recorded, or a release's own version
// (a tag), so a release ferry copied without its agents/ still works.
// A checkout's pseudo-version names a commit the proxy may never have
// seen, and a dirty one names no commit at all: neither is used.
func moduleVersion(v version.Info) string {
	switch v.Source {
	case version.SourceModule:
		return v.Module
	case version.SourceRelease:
		if v.Version != "" && v.Version != version.Dev && !strings.Contains(v.Version, "snapshot") {
			return "v" + v.Version
		}
	}
	return ""
}

// unavailable is a way that cannot be taken here (its err says why):
// the next way is tried, unlike a way that was taken and failed.
type unavailable struct{ err error }

func (u unavailable) Error() string { return u.err.Error() }

// buildModule builds the agent of module version mv, once per version.
// When the source cannot be had the error is an unavailable; a failing
// build of source that was had is an error of its own.
func (r *Resolver) buildModule(ctx context.Context, goTool, mv string, p Platform) (Agent, error) {
	label := strings.TrimPrefix(mv, "v")
	out := filepath.Join(r.cacheDir(), safeDirName(label), FileName(p.GOOS, p.GOARCH))
	a := Agent{Platform: p, Path: out, Way: WayModule, From: version.ModulePath + "@" + mv}
	if regular(out) == nil {
		return a, nil
	}
	dir, err := r.moduleDir(ctx, goTool, mv)
	if err != nil {
		return Agent{}, unavailable{err}
	}
	if err := r.build(ctx, goTool, dir, "./cmd/ferry-agent", label, p, out); err != nil {
		return Agent{}, fail.New(exitcode.Failed, fmt.Errorf("build ferry-agent %s for %s from %s: %w", mv, p, dir, err),
			"use a release archive, whose agents/ are prebuilt, or set "+EnvDir+" to a directory of prebuilt agents")
	}
	a.Built = true
	return a, nil
}

// moduleDir is ferry's source at mv in the module cache, downloaded
// through GOPROXY when missing (go mod download reads the cache first).
func (r *Resolver) moduleDir(ctx context.Context, goTool, mv string) (string, error) {
	if d, ok := r.modDirs[mv]; ok {
		return d, nil
	}
	cmd := exec.CommandContext(ctx, goTool, "mod", "download", "-json", version.ModulePath+"@"+mv)
	// Outside any module: the user's working directory may be another
	// project, whose go.mod or go.work must not take part.
	cmd.Dir = os.TempDir()
	cmd.Env = r.goEnv("GOWORK=off", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &res); jerr == nil && res.Error != "" {
		return "", fmt.Errorf("ferry's source %s@%s could not be downloaded: %s", version.ModulePath, mv, res.Error)
	}
	if err != nil || res.Dir == "" {
		return "", fmt.Errorf("ferry's source %s@%s could not be downloaded: %v %s", version.ModulePath, mv, err, strings.TrimSpace(stderr.String()))
	}
	if r.modDirs == nil {
		r.modDirs = map[string]string{}
	}
	r.modDirs[mv] = res.Dir
	return res.Dir, nil
}

// Flags are the go build arguments of an agent that reports label as
// its version; .goreleaser.yaml's agent build uses the same.
func Flags(label string) []string {
	ld := "-s -w -X " + version.ModulePath + "/internal/version.version=" + label
	return []string{"-trimpath", "-buildvcs=false", "-tags", strings.Join(BuildTags, ","), "-ldflags", ld}
}

// build runs go build in dir into out, through a temporary file renamed
// into place, so a concurrent ferry (another process) or a killed build
// never leaves a half-written agent where a complete one is expected.
func (r *Resolver) build(ctx context.Context, goTool, dir, pkg, label string, p Platform, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("agent cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("agent cache: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if r.Log != nil {
		fmt.Fprintf(r.Log, "building ferry-agent %s for %s (once; cached in %s)\n", label, p, filepath.Dir(out))
	}
	args := append(append([]string{"build"}, Flags(label)...), "-o", tmp.Name(), pkg)
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = dir
	cmd.Env = r.goEnv("GOOS="+p.GOOS, "GOARCH="+p.GOARCH, "CGO_ENABLED=0", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(msg)))
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("agent cache: %w", err)
	}
	return nil
}

// goEnv is the process's environment, then GoEnv, then extra: later
// entries win in os/exec.
func (r *Resolver) goEnv(extra ...string) []string {
	env := append(os.Environ(), r.GoEnv...)
	return append(env, extra...)
}

// safeDirName keeps a version usable as one directory name everywhere
// (a pre-release's "+build" or a stray separator would not be).
func safeDirName(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			return c
		}
		return '_'
	}, s)
}

// sourceKey hashes what decides the agent binary: the go tool's version,
// the build flags, and every non-test Go file, go.mod and go.sum of the
// module (more than the agent needs, but cheap and never stale).
func sourceKey(ctx context.Context, goTool, dir string) (string, error) {
	h := sha256.New()
	v, err := exec.CommandContext(ctx, goTool, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	fmt.Fprintf(h, "go %s\nflags %q\n", strings.TrimSpace(string(v)), Flags(""))
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" || name == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if name == "go.mod" || name == "go.sum" || (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		n, err := io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "\n%d\n", n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FindModule walks up from dir to ferry's own source checkout: the
// directory whose go.mod declares module github.com/ferryhq/ferry.
func FindModule(dir string) (string, bool) {
	for dir != "" {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			found := false
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "module "+version.ModulePath {
					found = true
					break
				}
			}
			f.Close()
			if found {
				return dir, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", false
}
