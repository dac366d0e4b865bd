// Package winetest runs Windows builds of ferry's Go code under Wine, from
// ordinary Go tests on Linux, so that the Windows code paths (process
// creation flags, handle inheritance, job objects, drive-letter paths) are
// exercised by real Windows API implementations without a Windows machine.
//
// A test binary that uses Wine calls Main from its TestMain; tests call
// Shared to get the binary's one Wine environment, Build to cross-compile a
// package for windows/amd64, and Run or Command to start an exe in it:
//
//	func TestMain(m *testing.M) { os.Exit(winetest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		w := winetest.Shared(t)
//		exe := winetest.Build(t, "github.com/ferryhq/ferry/internal/testing/testapp")
//		res, err := w.Run(ctx, exe, []string{"-x"}, winetest.RunOptions{})
//	}
//
// Setup is costly (wineboot takes many seconds), so an initialised Wine
// prefix is kept under the user's cache directory, keyed by the Wine version
// and the shim's source, and each test binary works in its own cheap copy of
// it (hard links) with its own wineserver: test binaries of different
// packages may run at once without sharing processes or drive mappings, and
// Main's shutdown of one binary's wineserver ends exactly that binary's
// Windows processes.
//
// Wine 8 lacks bcryptprimitives.dll, whose ProcessPrng the Go runtime (1.24
// and later) needs before main; the prefix gets a stand-in built from
// shim/bcryptprimitives.c with the mingw-w64 cross compiler.
package winetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

//go:embed shim/bcryptprimitives.c shim/bcryptprimitives.def
var shimFS embed.FS

// layoutVersion changes the cache key when the way a prefix is prepared
// changes, so an old cached prefix is never reused for a new recipe.
const layoutVersion = "1"

// MingwCC is the cross compiler that builds the bcryptprimitives shim.
const MingwCC = "x86_64-w64-mingw32-gcc"

// DLLOverrides keeps Wine from offering to install Mono and Gecko (a dialog
// that needs a display and blocks wineboot) and from creating desktop menu
// entries.
const DLLOverrides = "mscoree,mshtml=;winemenubuilder.exe=d"

// tool finds a program on PATH or at one of Debian's fixed locations.
func tool(names ...string) string {
	for _, n := range names {
		if filepath.IsAbs(n) {
			if st, err := os.Stat(n); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return n
			}
			continue
		}
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func wineBin() string {
	return tool("wine64", "wine", "/usr/lib/wine/wine64")
}

func wineserverBin() string {
	return tool("wineserver", "/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver")
}

// Missing names the tools that Wine tests need and this machine lacks, with
// the Debian package that provides each ("wine64",
// "x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64)").
func Missing() []string {
	var missing []string
	if wineBin() == "" || wineserverBin() == "" {
		missing = append(missing, "wine64")
	}
	if tool(MingwCC) == "" {
		missing = append(missing, MingwCC+" (gcc-mingw-w64-x86-64)")
	}
	return missing
}

// Require skips the test when Wine or the mingw-w64 compiler is missing,
// naming what is missing. Under CI=true it fails instead: CI must not pass
// by skipping the Windows tests.
func Require(t testing.TB) {
	t.Helper()
	require(t, runtime.GOOS, Missing(), os.Getenv("CI") == "true")
}

func require(t testing.TB, goos string, missing []string, ci bool) {
	t.Helper()
	if goos != "linux" {
		// Not a missing tool: other platforms never run these tests.
		t.Skip("wine tests run on linux only")
		return
	}
	if len(missing) == 0 {
		return
	}
	verb := " is not installed"
	if len(missing) > 1 {
		verb = " are not installed"
	}
	msg := strings.Join(missing, " and ") + verb
	if ci {
		t.Fatal(msg + " (CI=true: Wine tests must run)")
		return
	}
	t.Skip(msg)
}

// Timings records what setting up Wine cost this test binary, so that the
// price of the Wine tests stays visible.
type Timings struct {
	// Template is the time spent creating the cached prefix (wineboot and
	// shim); zero when a cached one was reused.
	Template time.Duration
	// Copy is the time to make this binary's copy of the prefix.
	Copy time.Duration
	// Warmup is the time to start the wineserver and Wine's own services.
	Warmup time.Duration
}

// Wine is one test binary's Wine environment: a prefix of its own and the
// wineserver that runs it.
type Wine struct {
	// Prefix is the WINEPREFIX directory.
	Prefix string
	// Version is what `wine --version` prints.
	Version string
	// Timings tells what the setup cost.
	Timings Timings

	wine       string
	wineserver string
	runDir     string
	mu         sync.Mutex
	drives     map[string]bool
}

var (
	sharedOnce sync.Once
	shared     *Wine
	sharedErr  error
	mainActive bool

	buildMu    sync.Mutex
	buildDir   string
	buildCache = map[string]string{}
)

// Main runs the tests of a package that uses Wine and then stops its
// wineserver (ending every Windows process the tests left running) and
// removes its prefix copy and build outputs. Use it from TestMain:
// os.Exit(winetest.Main(m)).
func Main(m *testing.M) int {
	mainActive = true
	code := m.Run()
	if shared != nil {
		if err := shared.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, "winetest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	buildMu.Lock()
	if buildDir != "" {
		os.RemoveAll(buildDir) //nolint:errcheck
		buildDir = ""
	}
	buildMu.Unlock()
	return code
}

// Shared returns the test binary's Wine environment, setting it up on first
// use; it skips or fails the test as Require does when tools are missing,
// and fails it when the package's TestMain does not use Main (whose cleanup
// is what keeps Wine processes from outliving the tests).
func Shared(t testing.TB) *Wine {
	t.Helper()
	Require(t)
	if !mainActive {
		t.Fatal("winetest: the package's TestMain must call winetest.Main, which stops the wineserver at the end")
	}
	sharedOnce.Do(func() { shared, sharedErr = setup() })
	if sharedErr != nil {
		t.Fatalf("winetest: %v", sharedErr)
	}
	return shared
}

// CacheDir is where prepared prefixes are kept: $FERRY_WINETEST_CACHE, else
// ferry-wine under the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("FERRY_WINETEST_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("user cache dir: %w", err)
	}
	return filepath.Join(d, "ferry-wine"), nil
}

func setup() (*Wine, error) {
	w := &Wine{wine: wineBin(), wineserver: wineserverBin(), drives: map[string]bool{}}
	out, err := exec.Command(w.wine, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("wine --version: %w", err)
	}
	w.Version = strings.TrimSpace(string(out))
	root, err := CacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, "runs"), 0o755); err != nil {
		return nil, fmt.Errorf("cache dir: %w", err)
	}
	w.reapStale(root)

	key, err := cacheKey(w.Version)
	if err != nil {
		return nil, err
	}
	template := filepath.Join(root, "prefix-"+key)
	if _, err := os.Stat(filepath.Join(template, "ready")); err != nil {
		t0 := time.Now()
		if err := w.buildTemplate(root, template); err != nil {
			return nil, err
		}
		w.Timings.Template = time.Since(t0)
	}

	t0 := time.Now()
	w.runDir, err = os.MkdirTemp(filepath.Join(root, "runs"), "run-")
	if err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(w.runDir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	w.Prefix = filepath.Join(w.runDir, "prefix")
	if err := linkTree(filepath.Join(template, "prefix"), w.Prefix); err != nil {
		os.RemoveAll(w.runDir) //nolint:errcheck
		return nil, fmt.Errorf("copy prefix: %w", err)
	}
	w.Timings.Copy = time.Since(t0)

	t0 = time.Now()
	if err := w.startServer(); err != nil {
		w.Shutdown() //nolint:errcheck
		return nil, err
	}
	w.Timings.Warmup = time.Since(t0)
	return w, nil
}

// cacheKey identifies a prefix recipe: Wine's version, the shim's source
// and compiler, and layoutVersion.
func cacheKey(wineVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "layout %s\nwine %s\n", layoutVersion, wineVersion)
	if out, err := exec.Command(tool(MingwCC), "-dumpversion").Output(); err == nil {
		fmt.Fprintf(h, "cc %s\n", bytes.TrimSpace(out))
	}
	for _, name := range []string{"shim/bcryptprimitives.c", "shim/bcryptprimitives.def"} {
		b, err := shimFS.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("shim source: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// baseEnv is the environment every Wine command here gets: the caller's,
// without a display (Wine must stay headless), with the prefix and quiet
// debugging.
func (w *Wine) baseEnv(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "DISPLAY", "WAYLAND_DISPLAY", "WINEPREFIX", "WINEDEBUG", "WINEDLLOVERRIDES", "WINEARCH":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES="+DLLOverrides)
}

// buildTemplate prepares a prefix in a scratch directory and renames it
// into place, so a concurrent test binary sees either none or a complete
// one.
func (w *Wine) buildTemplate(root, template string) error {
	scratch, err := os.MkdirTemp(root, "building-")
	if err != nil {
		return fmt.Errorf("prefix scratch dir: %w", err)
	}
	defer os.RemoveAll(scratch) //nolint:errcheck
	dll, err := BuildShim(scratch)
	if err != nil {
		return err
	}
	prefix := filepath.Join(scratch, "prefix")
	env := w.baseEnv(prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := output(command(ctx, env, tool("wineboot", "/usr/lib/wine/wineboot"), "--init")); err != nil {
		return fmt.Errorf("wineboot --init: %w: %s", err, out)
	}
	// The registry is written out when the server exits: stop it before
	// the prefix is copied anywhere.
	if err := stopServer(ctx, env, w.wineserver); err != nil {
		return err
	}
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if err := copyFile(dll, filepath.Join(sys32, "bcryptprimitives.dll")); err != nil {
		return fmt.Errorf("install shim: %w", err)
	}
	info := fmt.Sprintf("wine: %s\ncreated: %s\n", w.Version, time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(scratch, "ready"), []byte(info), 0o644); err != nil {
		return fmt.Errorf("prefix marker: %w", err)
	}
	if err := os.Rename(scratch, template); err != nil {
		if _, serr := os.Stat(filepath.Join(template, "ready")); serr == nil {
			return nil // another test binary finished first
		}
		return fmt.Errorf("install prefix: %w", err)
	}
	return nil
}

// BuildShim compiles the bcryptprimitives.dll stand-in into dir and returns
// its path.
func BuildShim(dir string) (string, error) {
	for _, name := range []string{"bcryptprimitives.c", "bcryptprimitives.def"} {
		b, err := shimFS.ReadFile("shim/" + name)
		if err != nil {
			return "", fmt.Errorf("shim source: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", fmt.Errorf("shim source: %w", err)
		}
	}
	dll := filepath.Join(dir, "bcryptprimitives.dll")
	cmd := exec.Command(tool(MingwCC), "-shared", "-O2", "-s", "-o", dll,
		"bcryptprimitives.c", "bcryptprimitives.def", "-ladvapi32")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build shim: %w: %s", err, out)
	}
	return dll, nil
}

func command(ctx context.Context, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// output runs cmd with its combined output going to a temporary file, not
// a pipe: Wine's background processes (the wineserver, services.exe)
// inherit the standard output of whoever starts them and would keep a pipe
// open long after cmd ends.
func output(cmd *exec.Cmd) ([]byte, error) {
	f, err := os.CreateTemp("", "winetest-out-")
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	defer os.Remove(f.Name()) //nolint:errcheck
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	out, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, fmt.Errorf("output file: %w", err)
	}
	return bytes.TrimSpace(out), runErr
}

func stopServer(ctx context.Context, env []string, wineserver string) error {
	if out, err := output(command(ctx, env, wineserver, "-k")); err != nil {
		// Exit status 1 with no output: no server was running.
		var exit *exec.ExitError
		if !errors.As(err, &exit) || len(out) != 0 {
			return fmt.Errorf("wineserver -k: %w: %s", err, out)
		}
	}
	if out, err := output(command(ctx, env, wineserver, "-w")); err != nil {
		return fmt.Errorf("wineserver -w: %w: %s", err, out)
	}
	return nil
}

// startServer starts this prefix's wineserver and Wine's services with
// /dev/null for standard handles. Whoever starts them hands them its stdio;
// were that a test's pipe, the pipe would stay open until the end.
func (w *Wine) startServer() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := w.baseEnv(w.Prefix)
	if out, err := output(command(ctx, env, w.wineserver, "-p")); err != nil {
		return fmt.Errorf("start wineserver: %w: %s", err, out)
	}
	if out, err := output(command(ctx, env, w.wine, "cmd.exe", "/c", "exit", "0")); err != nil {
		return fmt.Errorf("warm up wine: %w: %s", err, out)
	}
	return nil
}

// Shutdown ends every process of this prefix, stops its wineserver and
// deletes the prefix copy. Main calls it.
func (w *Wine) Shutdown() error {
	if w.runDir == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := stopServer(ctx, w.baseEnv(w.Prefix), w.wineserver)
	if rerr := os.RemoveAll(w.runDir); rerr != nil && err == nil {
		err = fmt.Errorf("remove prefix copy: %w", rerr)
	}
	w.runDir = ""
	return err
}

// reapStale stops the wineservers and removes the prefix copies of test
// binaries that died without Main's cleanup (a test timeout panics past it).
func (w *Wine) reapStale(root string) {
	runs, _ := os.ReadDir(filepath.Join(root, "runs"))
	for _, r := range runs {
		dir := filepath.Join(root, "runs", r.Name())
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && processExists(pid) {
				continue
			}
		} else if st, serr := os.Stat(dir); serr != nil || time.Since(st.ModTime()) < time.Hour {
			continue // being created right now, perhaps
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		stopServer(ctx, w.baseEnv(filepath.Join(dir, "prefix")), w.wineserver) //nolint:errcheck
		cancel()
		os.RemoveAll(dir) //nolint:errcheck
	}
	scratch, _ := filepath.Glob(filepath.Join(root, "building-*"))
	for _, d := range scratch {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.RemoveAll(d) //nolint:errcheck
		}
	}
}

func processExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// linkTree recreates src at dst with hard links for files (Wine replaces
// the registry files it saves rather than rewriting them, and nothing else
// in a prefix is written in place by the tests), copies for the registry
// files to be safe, and the same symlinks.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case strings.HasSuffix(path, ".reg") || filepath.Base(path) == ".update-timestamp":
			return copyFile(path, target)
		default:
			if err := os.Link(path, target); err != nil {
				return copyFile(path, target)
			}
			return nil
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Env returns the environment for a Wine command in this prefix, with extra
// KEY=VALUE entries last (so they win). Wine passes the environment on to
// the Windows process.
func (w *Wine) Env(extra ...string) []string {
	return append(w.baseEnv(w.Prefix), extra...)
}

// Command prepares `wine exe args...` in this prefix. Set Dir to a Linux
// directory to start the exe there (Wine maps it to a DOS path); Env should
// start from w.Env. Mind that under Wine every process the exe starts keeps
// its Unix stderr, whatever Windows handles it inherits: a stderr pipe stays
// open while any of them runs (Run avoids pipes for that reason).
func (w *Wine) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.wine, append([]string{exe}, args...)...)
	cmd.Env = w.Env()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// RunOptions adjusts one Run.
type RunOptions struct {
	// Env holds KEY=VALUE entries added to the Windows process's
	// environment.
	Env []string
	// Dir is the Linux directory to start in.
	Dir string
	// Stdin feeds the process's standard input; nil means empty.
	Stdin io.Reader
}

// Result is what one Run produced.
type Result struct {
	// Stdout and Stderr are what the exe (and Wine) wrote.
	Stdout, Stderr []byte
	// ExitCode is the Windows exit code as Wine's loader reports it: the
	// low 8 bits only.
	ExitCode int
	// Elapsed is the wall time of the whole `wine exe` run.
	Elapsed time.Duration
}

// Run runs exe under Wine to completion. The error is about running Wine at
// all; the exe's own failure is in Result.ExitCode. Output is collected
// through files, not pipes: under Wine every process keeps the Unix stderr
// of the process that started it, so a pipe would stay open for as long as
// anything the exe started (a detached app) lives.
func (w *Wine) Run(ctx context.Context, exe string, args []string, opt RunOptions) (Result, error) {
	cmd := w.Command(ctx, exe, args...)
	cmd.Env = w.Env(opt.Env...)
	cmd.Dir = opt.Dir
	cmd.Stdin = opt.Stdin
	outf, err := os.CreateTemp("", "winetest-stdout-")
	if err != nil {
		return Result{}, fmt.Errorf("stdout file: %w", err)
	}
	defer os.Remove(outf.Name()) //nolint:errcheck
	defer outf.Close()
	errf, err := os.CreateTemp("", "winetest-stderr-")
	if err != nil {
		return Result{}, fmt.Errorf("stderr file: %w", err)
	}
	defer os.Remove(errf.Name()) //nolint:errcheck
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = outf, errf
	t0 := time.Now()
	err = cmd.Run()
	res := Result{Elapsed: time.Since(t0)}
	res.Stdout, _ = os.ReadFile(outf.Name())
	res.Stderr, _ = os.ReadFile(errf.Name())
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		res.ExitCode = exit.ExitCode()
	default:
		return res, fmt.Errorf("wine %s: %w (stderr: %s)", filepath.Base(exe), err, bytes.TrimSpace(res.Stderr))
	}
	return res, nil
}

// WinPath is the Windows name of a Linux path through Wine's Z: drive,
// which maps the Linux root: /tmp/x becomes Z:\tmp\x.
func WinPath(linuxPath string) string {
	abs, err := filepath.Abs(linuxPath)
	if err != nil {
		abs = linuxPath
	}
	return `Z:` + strings.ReplaceAll(abs, "/", `\`)
}

// MapDrive maps a free drive letter (D: to Y:) of this prefix to the Linux
// directory dir for the rest of the test, so tests can use real drive-letter
// roots such as D:\Apps\Billing. It returns the drive, e.g. "D:".
func (w *Wine) MapDrive(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("map drive: %v", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for l := 'd'; l <= 'y'; l++ {
		name := string(l) + ":"
		link := filepath.Join(w.Prefix, "dosdevices", name)
		if w.drives[name] {
			continue
		}
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(abs, link); err != nil {
			t.Fatalf("map drive %s: %v", name, err)
		}
		w.drives[name] = true
		t.Cleanup(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			os.Remove(link) //nolint:errcheck
			delete(w.drives, name)
		})
		return strings.ToUpper(name)
	}
	t.Fatal("map drive: no free drive letter")
	return ""
}

// Build cross-compiles the Go package pkg (an import path or a directory)
// for windows/amd64 and returns the exe's path. Outputs are kept for the
// whole test binary, so several tests share one build.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	exe, err := build(pkg, false)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// BuildTest compiles the tests of package pkg into a windows/amd64 test
// binary (go test -c), so Windows-only unit tests can run under Wine.
func BuildTest(t testing.TB, pkg string) string {
	t.Helper()
	exe, err := build(pkg, true)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func build(pkg string, tests bool) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	key := fmt.Sprintf("%s test=%v", pkg, tests)
	if exe, ok := buildCache[key]; ok {
		return exe, nil
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "ferry-winetest-bin-")
		if err != nil {
			return "", fmt.Errorf("build dir: %w", err)
		}
		buildDir = d
	}
	name := filepath.Base(strings.TrimRight(pkg, "/"))
	if tests {
		name += ".test"
	}
	exe := filepath.Join(buildDir, fmt.Sprintf("%s-%d.exe", name, len(buildCache)))
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build %s for windows: %w", pkg, err)
	}
	args := []string{"build", "-o", exe, pkg}
	if tests {
		args = []string{"test", "-c", "-o", exe, pkg}
	}
	cmd := exec.Command(gobin, args...)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s for windows: %w: %s", pkg, err, out)
	}
	buildCache[key] = exe
	return exe, nil
}
