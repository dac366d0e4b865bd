//go:build windows

package proc

// Unit tests of the Windows internals. They run natively on Windows and,
// from Linux, under Wine (see TestWindowsUnitTestsUnderWine in
// proc_wine_test.go, which builds this package's tests for windows).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

func TestWinEnvBlock(t *testing.T) {
	p, err := envBlock([]string{"b=1", "A=2", "B=3", "=C:=C:\\x", "noequals", "Path=x"})
	if err != nil {
		t.Fatal(err)
	}
	got := parseEnvBlock(p)
	joined := strings.Join(got, "|")
	for _, want := range []string{"A=2", "B=3", "=C:=C:\\x", "Path=x"} {
		if !strings.Contains("|"+joined+"|", "|"+want+"|") {
			t.Errorf("block %q lacks %q", joined, want)
		}
	}
	if strings.Contains(joined, "b=1") || strings.Contains(joined, "noequals") {
		t.Errorf("block %q kept a duplicate or malformed entry", joined)
	}
	if os.Getenv("SYSTEMROOT") != "" && !strings.Contains(strings.ToUpper(joined), "SYSTEMROOT=") {
		t.Errorf("block %q lacks SYSTEMROOT", joined)
	}
	for i := 1; i < len(got); i++ {
		if strings.ToUpper(got[i-1]) > strings.ToUpper(got[i]) {
			t.Errorf("block not sorted: %q before %q", got[i-1], got[i])
		}
	}
	if _, err := envBlock([]string{"A=x\x00y"}); err == nil {
		t.Error("an entry holding NUL must be refused")
	}
	if p, err := envBlock(nil); p != nil || err != nil {
		t.Error("nil env must inherit (nil block)")
	}
}

// parseEnvBlock splits a NUL-separated, double-NUL-terminated block.
func parseEnvBlock(p *uint16) []string {
	var out []string
	for {
		s := windows.UTF16PtrToString(p)
		if s == "" {
			return out
		}
		out = append(out, s)
		// StringToUTF16 counts the terminating NUL too.
		p = (*uint16)(unsafe.Add(unsafe.Pointer(p), len(windows.StringToUTF16(s))*2))
	}
}

func TestWinResolveProgram(t *testing.T) {
	dir := tempDir(t)
	exe := filepath.Join(dir, "bin", "tool.exe")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("MZ"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, dir string }{
		{exe, ""},
		{strings.TrimSuffix(exe, ".exe"), ""},
		{`bin\tool.exe`, dir},
		{"bin/tool", dir},
	} {
		got, err := resolveProgram(c.name, c.dir)
		if err != nil || !strings.EqualFold(got, exe) {
			t.Errorf("resolveProgram(%q, %q) = %q, %v; want %q", c.name, c.dir, got, err, exe)
		}
	}
	if _, err := resolveProgram(filepath.Join(dir, "nope"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing program: %v, want ErrNotExist", err)
	}
}

func TestWinExtendedPath(t *testing.T) {
	long := `C:\` + strings.Repeat(`abcdefghij\`, 30) + "x.log"
	if got := extendedPath(long); got != `\\?\`+long {
		t.Errorf("extendedPath(long) = %q", got)
	}
	unc := `\\server\share\` + strings.Repeat(`abcdefghij\`, 30) + "x.log"
	if got := extendedPath(unc); got != `\\?\UNC\server\share\`+strings.Repeat(`abcdefghij\`, 30)+"x.log" {
		t.Errorf("extendedPath(unc) = %q", got)
	}
	if got := extendedPath(`C:\a\b.log`); got != `C:\a\b.log` {
		t.Errorf("a short path must stay as is, got %q", got)
	}
}

// tempDir stands in for t.TempDir: Go's os.RemoveAll relies on a file
// disposition call that Wine 8 does not implement ("Invalid function"), so
// the cleanup falls back to removing entries one by one.
func tempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ferry-proc-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.RemoveAll(d) == nil {
			return
		}
		var paths []string
		filepath.WalkDir(d, func(p string, _ os.DirEntry, err error) error { //nolint:errcheck
			paths = append(paths, p)
			return nil
		})
		for i := len(paths) - 1; i >= 0; i-- {
			os.Remove(paths[i]) //nolint:errcheck
		}
	})
	return d
}

// longDir makes a directory whose path is well past MAX_PATH.
func longDir(t *testing.T, base string) string {
	t.Helper()
	d := base
	for len(d) < 320 {
		d = filepath.Join(d, "release-component-long-name")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatalf("mkdir %d chars: %v", len(d), err)
	}
	return d
}

func TestWinWorkingDirLong(t *testing.T) {
	long := longDir(t, tempDir(t))
	got, err := workingDir(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > maxDirLen {
		t.Fatalf("workingDir gave %d characters: %q", len(got), got)
	}
	a, err1 := os.Stat(long)
	b, err2 := os.Stat(got)
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		t.Fatalf("%q does not name %q (%v, %v)", got, long, err1, err2)
	}
	short := tempDir(t)
	if got, err := workingDir(short); err != nil || got != short {
		t.Fatalf("short dir changed: %q %v", got, err)
	}
	if _, err := workingDir(filepath.Join(short, "missing")); err == nil {
		t.Fatal("a missing working directory must be an error")
	}
}

// testappExe is the Windows testapp: FERRY_TESTAPP_EXE (set by the Wine
// runner), else built here when a Go toolchain is at hand.
func testappExe(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FERRY_TESTAPP_EXE"); p != "" {
		return p
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("FERRY_TESTAPP_EXE is not set and no go toolchain is available to build testapp")
	}
	exe := filepath.Join(tempDir(t), "testapp.exe")
	out, err := exec.Command(gobin, "build", "-o", exe, "github.com/ferryhq/ferry/internal/testing/testapp").CombinedOutput()
	if err != nil {
		t.Fatalf("build testapp: %v: %s", err, out)
	}
	return exe
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

type health struct {
	Status   string `json:"status"`
	Version  string `json:"version"`
	PID      int    `json:"pid"`
	ChildPID int    `json:"child_pid"`
}

func waitHealthy(t *testing.T, port string) health {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://127.0.0.1:" + port + "/health")
		if err == nil {
			var h health
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && resp.StatusCode == 200 {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no healthy answer on port %s: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitGoneT(t *testing.T, what string, h Handle) {
	t.Helper()
	if err := waitGone(t.Context(), h, 20*time.Second); err != nil {
		t.Fatalf("%s (pid %d) still alive", what, h.PID)
	}
}

func startTestapp(t *testing.T, env ...string) (Handle, string, string) {
	t.Helper()
	dir := tempDir(t)
	port := freePort(t)
	log := filepath.Join(dir, "logs", "app.log")
	h, err := Start(Spec{
		Argv:    []string{testappExe(t)},
		Dir:     dir,
		Env:     append(os.Environ(), append([]string{"PORT=" + port}, env...)...),
		LogPath: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kill(h); waitGone(context.Background(), h, 10*time.Second) }) //nolint:errcheck
	return h, port, log
}

func TestWinJobHoldsTheTree(t *testing.T) {
	h, port, _ := startTestapp(t, "TESTAPP_CHILD=1", "TESTAPP_IGNORE_SIGNALS=1")
	hl := waitHealthy(t, port)
	if hl.PID != h.PID || hl.ChildPID == 0 {
		t.Fatalf("health %+v for handle pid %d", hl, h.PID)
	}
	childStart, ok := startTime(hl.ChildPID)
	if !ok {
		t.Fatalf("child %d not running", hl.ChildPID)
	}
	child := Handle{PID: hl.ChildPID, StartTime: childStart}

	job := openJob(h)
	if job == 0 {
		t.Fatal("the job Start made cannot be found by name once Start returned")
	}
	defer windows.CloseHandle(job) //nolint:errcheck
	cp, err := windows.OpenProcess(windows.PROCESS_QUERY_INFORMATION, false, uint32(child.PID))
	if err != nil {
		t.Fatal(err)
	}
	var in int32
	r, _, e := procIsProcessInJob.Call(uintptr(cp), uintptr(job), uintptr(unsafe.Pointer(&in)))
	windows.CloseHandle(cp) //nolint:errcheck
	if r == 0 || in == 0 {
		t.Fatalf("the app's child is not in the app's job (%v)", e)
	}
	if openJob(Handle{PID: h.PID, StartTime: h.StartTime + 1}) != 0 {
		t.Fatal("a handle with another start time must not find the job")
	}
	d, err := descendants(map[uint32]uint64{uint32(h.PID): h.StartTime})
	if err != nil || d[uint32(child.PID)] != childStart {
		t.Fatalf("tree walk %v %v lacks child %d", d, err, child.PID)
	}

	if err := kill(h); err != nil {
		t.Fatal(err)
	}
	waitGoneT(t, "app", h)
	waitGoneT(t, "child", child)
}

// The tree walk alone (no job: the app was not started by Start) still
// ends the app and its child.
func TestWinTreeWalkWithoutJob(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(testappExe(t))
	cmd.Dir = tempDir(t)
	cmd.Env = append(os.Environ(), "PORT="+port, "TESTAPP_CHILD=1", "TESTAPP_IGNORE_SIGNALS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() //nolint:errcheck
	hl := waitHealthy(t, port)
	st, _ := startTime(cmd.Process.Pid)
	h := Handle{PID: cmd.Process.Pid, StartTime: st}
	cst, _ := startTime(hl.ChildPID)
	child := Handle{PID: hl.ChildPID, StartTime: cst}
	t.Cleanup(func() { cmd.Process.Kill(); kill(child) }) //nolint:errcheck
	if openJob(h) != 0 {
		t.Fatal("found a job for a process Start did not make")
	}
	// No console: the polite request cannot be delivered.
	if err := sendCtrlBreak(h.PID); !errors.Is(err, errGracefulUnsupported) {
		t.Fatalf("ctrl-break to a detached process: %v, want errGracefulUnsupported", err)
	}
	if err := kill(h); err != nil {
		t.Fatal(err)
	}
	waitGoneT(t, "app", h)
	waitGoneT(t, "child", child)
}

// The app started by Start has a console of its own: the helper attaches to
// it. Whether the event is delivered depends on the platform (Wine 8 does
// not implement CTRL_BREAK_EVENT); when it is, the app must stop politely.
func TestWinCtrlBreak(t *testing.T) {
	h, port, log := startTestapp(t)
	waitHealthy(t, port)
	err := sendCtrlBreak(h.PID)
	if errors.Is(err, errGracefulUnsupported) {
		t.Fatal("the helper could not attach to the app's console: the app has none")
	}
	if err != nil {
		t.Logf("CTRL_BREAK_EVENT not delivered on this platform: %v", err)
		fmt.Println("CTRL_BREAK_UNSUPPORTED")
		return
	}
	waitGoneT(t, "app", h)
	b, _ := os.ReadFile(log)
	if !regexp.MustCompile(`stopping \(signal`).Match(b) {
		t.Fatalf("app did not log a graceful stop:\n%s", b)
	}
	fmt.Println("CTRL_BREAK_DELIVERED")
}

func TestWinStartLongPaths(t *testing.T) {
	dir := longDir(t, tempDir(t))
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("9.9.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(longDir(t, tempDir(t)), "logs", "app.log")
	port := freePort(t)
	h, err := Start(Spec{Argv: []string{testappExe(t)}, Dir: dir, Env: append(os.Environ(), "PORT="+port), LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kill(h) }) //nolint:errcheck
	if hl := waitHealthy(t, port); hl.Version != "9.9.9" {
		t.Fatalf("version %q: the app did not run in the long working directory", hl.Version)
	}
	b, err := os.ReadFile(log)
	if err != nil || !strings.Contains(string(b), "listening") {
		t.Fatalf("log at %d characters: %q %v", len(log), b, err)
	}
	if err := Stop(t.Context(), h, 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A job that someone else created under the name Start would use is never
// adopted, and a job found by name is used only when it holds the process.
func TestWinJobNameSquatting(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(testappExe(t))
	cmd.Dir = tempDir(t)
	cmd.Env = append(os.Environ(), "PORT="+port)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_NO_WINDOW}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	st, ok := startTime(cmd.Process.Pid)
	if !ok {
		t.Fatal("testapp not running")
	}
	h := Handle{PID: cmd.Process.Pid, StartTime: st}
	squat, err := windows.CreateJobObject(nil, windows.StringToUTF16Ptr(jobName(jobNamespaces[0], h)))
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(squat) //nolint:errcheck
	if openJob(h) != 0 {
		t.Fatal("openJob returned a job that does not hold the process")
	}
	p, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_DUP_HANDLE|windows.PROCESS_QUERY_INFORMATION, false, uint32(h.PID))
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(p) //nolint:errcheck
	if err := adoptIntoJob(p, h); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("adoptIntoJob with a squatted name: %v, want an already-exists refusal", err)
	}
}
