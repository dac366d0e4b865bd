//go:build windows

package proc

// How an application process is run on Windows, and why:
//
// Start creates the process with CreateProcessW directly rather than with
// os/exec, which exposes neither a suspended start nor the thread handle: the
// app must be in its job before its first instruction. The choices:
//
//   - Creation flags: CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW, plus
//     CREATE_BREAKAWAY_FROM_JOB when the starter's job allows it.
//     DETACHED_PROCESS is deliberately not used. A detached process has no
//     console at all, and GenerateConsoleCtrlEvent only reaches processes
//     that share the caller's console, so a detached app could never be
//     asked to stop politely (CREATE_NO_WINDOW is ignored when combined with
//     DETACHED_PROCESS, so the two cannot be had together). CREATE_NO_WINDOW
//     gives the app a console of its own without a window: it is still
//     independent of the starter's console (events on the agent's or SSM's
//     console never reach it), its own console children share that hidden
//     console instead of popping up windows, and a stopper can attach to it
//     to deliver CTRL_BREAK_EVENT. CREATE_NEW_PROCESS_GROUP makes the app the
//     root of a group whose ID is its PID, the target of that event. (A GUI
//     program such as pythonw.exe gets no console whatever the flags, so it
//     can only be killed: run python.exe.)
//   - Breakaway: SSM runs commands inside a job; an app left in it dies with
//     the command. If the job forbids breakaway CreateProcess fails with
//     ERROR_ACCESS_DENIED, and we retry without the flag (nothing better can
//     be done from inside such a job).
//   - Handles: bInheritHandles is TRUE only together with an explicit
//     PROC_THREAD_ATTRIBUTE_HANDLE_LIST holding exactly the log file (stdout
//     and stderr) and NUL (stdin). Nothing else the starter holds, above all
//     the stdout/stderr pipes SSM reads to EOF, can reach the app.
//   - Tree: the process starts suspended, is put in a job object of its own
//     (no JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: the starter exits at once, and
//     closing its handle must not kill the app), then resumed, so every
//     process it ever starts is in that job. The job is named after the
//     handle (PID and creation time) so a later stopper can open it, and a
//     handle to it is placed in the app itself, because a kernel object's
//     name lives only as long as some handle to it does.
//
// Stop is two-staged. terminate delivers CTRL_BREAK_EVENT to the app's group
// from a short-lived helper (this same executable, re-run with
// ctrlBreakEnv set, see init): attaching to the app's console requires
// leaving our own first, which a long-lived agent or a CLI in a terminal
// must not do to itself. kill then terminates the job and, as a fallback for
// processes outside it, walks the parent-PID tree.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	// stillActive is the exit code GetExitCodeProcess reports while a
	// process runs.
	stillActive = 259
	// exitKilled is the exit code given to processes we terminate.
	exitKilled = 1
	// maxDirLen is the longest working directory CreateProcessW accepts:
	// MAX_PATH including the trailing backslash and the terminating NUL.
	maxDirLen = windows.MAX_PATH - 2
	// longPathAt is where Windows' file APIs stop accepting plain paths
	// (directories must leave room for an 8.3 file name).
	longPathAt = windows.MAX_PATH - 12

	// ctrlBreakEnv, when set in the environment of a program linking this
	// package, turns it into the Ctrl-Break helper for the PID it holds.
	ctrlBreakEnv = "FERRY_PROC_CTRL_BREAK_PID"

	helperDelivered = 0 // CTRL_BREAK_EVENT was generated
	helperNoConsole = 2 // the target has no console to attach to
	helperFailed    = 3 // attached, but generating the event failed
)

// Calls golang.org/x/sys/windows does not wrap (or wraps without the last
// error we need).
var (
	kernel32             = windows.NewLazySystemDLL("kernel32.dll")
	procAttachConsole    = kernel32.NewProc("AttachConsole")
	procFreeConsole      = kernel32.NewProc("FreeConsole")
	procOpenJobObjectW   = kernel32.NewProc("OpenJobObjectW")
	procCreateJobObjectW = kernel32.NewProc("CreateJobObjectW")
	procIsProcessInJob   = kernel32.NewProc("IsProcessInJob")
)

const (
	jobObjectQuery     = 0x0004 // JOB_OBJECT_QUERY
	jobObjectTerminate = 0x0008 // JOB_OBJECT_TERMINATE
)

var (
	// errGracefulUnsupported: the process has no console, so nothing can
	// ask it to stop; it can only be killed.
	errGracefulUnsupported = errors.New("process has no console to receive ctrl-break")
	ctrlBreakHelperTimeout = 15 * time.Second
	// jobNamespaces are tried in order when creating and opening jobs.
	jobNamespaces = []string{`Global\`, `Local\`}
)

// init turns any program linking this package into the Ctrl-Break helper
// when started with ctrlBreakEnv set; sendCtrlBreak starts it that way.
func init() {
	if v := os.Getenv(ctrlBreakEnv); v != "" {
		os.Exit(ctrlBreakHelper(v))
	}
}

func start(spec Spec) (Handle, error) {
	exe, err := resolveProgram(spec.Argv[0], spec.Dir)
	if err != nil {
		return Handle{}, err
	}
	exe16, err := windows.UTF16PtrFromString(shortIfLong(exe, windows.MAX_PATH-1))
	if err != nil {
		return Handle{}, fmt.Errorf("program path: %w", err)
	}
	cmdline, err := windows.UTF16PtrFromString(windows.ComposeCommandLine(spec.Argv))
	if err != nil {
		return Handle{}, fmt.Errorf("command line: %w", err)
	}
	var dir16 *uint16
	if spec.Dir != "" {
		d, err := workingDir(spec.Dir)
		if err != nil {
			return Handle{}, err
		}
		if dir16, err = windows.UTF16PtrFromString(d); err != nil {
			return Handle{}, fmt.Errorf("working directory: %w", err)
		}
	}
	env, err := envBlock(spec.Env)
	if err != nil {
		return Handle{}, err
	}

	inherit := &windows.SecurityAttributes{InheritHandle: 1}
	inherit.Length = uint32(unsafe.Sizeof(*inherit))
	logh, err := openAppend(spec.LogPath, inherit)
	if err != nil {
		return Handle{}, fmt.Errorf("open log %s: %w", spec.LogPath, err)
	}
	defer windows.CloseHandle(logh) //nolint:errcheck
	nul, err := windows.CreateFile(windows.StringToUTF16Ptr("NUL"), windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, inherit, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		return Handle{}, fmt.Errorf("open NUL: %w", err)
	}
	defer windows.CloseHandle(nul) //nolint:errcheck

	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		return Handle{}, fmt.Errorf("attribute list: %w", err)
	}
	defer attrs.Delete()
	handles := []windows.Handle{nul, logh}
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
		unsafe.Pointer(&handles[0]), uintptr(len(handles))*unsafe.Sizeof(handles[0])); err != nil {
		return Handle{}, fmt.Errorf("handle list: %w", err)
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Cb = uint32(unsafe.Sizeof(*si))
	si.Flags = windows.STARTF_USESTDHANDLES | windows.STARTF_USESHOWWINDOW
	si.ShowWindow = windows.SW_HIDE
	si.StdInput, si.StdOutput, si.StdErr = nul, logh, logh

	// No CREATE_DEFAULT_ERROR_MODE: the app inherits the Go runtime's
	// error mode, which suppresses hard-error dialog boxes that nobody
	// would ever see on a server and that would block the app.
	flags := uint32(windows.CREATE_NEW_PROCESS_GROUP | windows.CREATE_NO_WINDOW |
		windows.CREATE_SUSPENDED | windows.CREATE_UNICODE_ENVIRONMENT |
		windows.EXTENDED_STARTUPINFO_PRESENT)
	var pi windows.ProcessInformation
	err = windows.CreateProcess(exe16, cmdline, nil, nil, true,
		flags|windows.CREATE_BREAKAWAY_FROM_JOB, env, dir16, &si.StartupInfo, &pi)
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		// The starter's job does not allow breakaway: the app has to stay
		// in it.
		err = windows.CreateProcess(exe16, cmdline, nil, nil, true,
			flags, env, dir16, &si.StartupInfo, &pi)
	}
	if err != nil {
		return Handle{}, fmt.Errorf("create process: %w", err)
	}
	defer windows.CloseHandle(pi.Process) //nolint:errcheck
	defer windows.CloseHandle(pi.Thread)  //nolint:errcheck

	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(pi.Process, &created, &exited, &kernel, &user); err != nil {
		windows.TerminateProcess(pi.Process, exitKilled) //nolint:errcheck
		return Handle{}, fmt.Errorf("process times: %w", err)
	}
	h := Handle{PID: int(pi.ProcessId), StartTime: filetime(created)}
	// A failed job only costs the tree walk in kill its atomicity: go on.
	_ = adoptIntoJob(pi.Process, h)
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		windows.TerminateProcess(pi.Process, exitKilled) //nolint:errcheck
		return Handle{}, fmt.Errorf("resume: %w", err)
	}
	return h, nil
}

// reapGroup: Windows has no process group to wait for; a forced stop ends
// the app's whole tree through its job (see kill), a graceful one relies on
// the app ending its children (waitress has none; Windows runs no gunicorn).
func reapGroup(context.Context, Handle, time.Duration) error { return nil }

// resolveProgram finds the executable the way os/exec would: an absolute
// path as is, a relative path with a separator against dir, a bare name
// through PATH; ".exe" is tried when the name has no extension.
func resolveProgram(name, dir string) (string, error) {
	p := name
	switch {
	case filepath.IsAbs(p):
	case strings.ContainsAny(p, `\/`):
		if dir != "" {
			p = filepath.Join(dir, p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("program %s: %w", name, err)
		}
		p = abs
	default:
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("program %s: %w", name, err)
		}
		return filepath.Abs(found)
	}
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		return p, nil
	}
	if filepath.Ext(p) == "" {
		if st, err := os.Stat(p + ".exe"); err == nil && !st.IsDir() {
			return p + ".exe", nil
		}
	}
	return "", fmt.Errorf("program %s: %w", p, os.ErrNotExist)
}

// workingDir returns a form of dir that CreateProcessW accepts. The current
// directory of a new process cannot exceed MAX_PATH (even where long paths
// are enabled, per SetCurrentDirectory's documentation), so a longer one is
// replaced by its 8.3 short form; a volume with short names disabled cannot
// host such a directory, and the error says so.
func workingDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("working directory %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	} else if !st.IsDir() {
		return "", fmt.Errorf("working directory %s: not a directory", abs)
	}
	if len(utf16.Encode([]rune(abs))) <= maxDirLen {
		return abs, nil
	}
	short := shortIfLong(abs, maxDirLen)
	if len(utf16.Encode([]rune(short))) > maxDirLen {
		return "", fmt.Errorf("working directory %s: %d characters, longer than a process's current directory may be (%d), and the volume gives it no shorter 8.3 name",
			abs, len(abs), maxDirLen)
	}
	return short, nil
}

// shortIfLong returns path unchanged when it fits in limit UTF-16 units and
// its 8.3 short form otherwise (or path itself when there is none).
func shortIfLong(path string, limit int) string {
	if len(utf16.Encode([]rune(path))) <= limit {
		return path
	}
	long, err := windows.UTF16PtrFromString(extendedPath(path))
	if err != nil {
		return path
	}
	buf := make([]uint16, 32768)
	n, err := windows.GetShortPathName(long, &buf[0], uint32(len(buf)))
	if err != nil || n == 0 || int(n) >= len(buf) {
		return path
	}
	return strings.TrimPrefix(windows.UTF16ToString(buf[:n]), `\\?\`)
}

// extendedPath gives a long absolute path the \\?\ prefix that lifts the
// MAX_PATH limit of the file APIs.
func extendedPath(path string) string {
	if len(path) < longPathAt || strings.HasPrefix(path, `\\?\`) {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if strings.HasPrefix(abs, `\\`) {
		return `\\?\UNC\` + abs[2:]
	}
	return `\\?\` + abs
}

// openAppend opens the log for appending only: every write, from the app,
// its children, stdout or stderr, lands at the end. Sharing includes delete
// so the log can be rotated while the app runs.
func openAppend(path string, sa *windows.SecurityAttributes) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(extendedPath(path))
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(p,
		windows.FILE_APPEND_DATA|windows.FILE_WRITE_ATTRIBUTES|windows.FILE_READ_ATTRIBUTES|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		sa, windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
}

// envBlock builds a CreateProcessW environment: one entry per name (the
// last wins, names compared without case as Windows does), sorted without
// case as the documentation asks, SYSTEMROOT added when missing since
// Winsock and others need it. nil env inherits ours.
func envBlock(env []string) (*uint16, error) {
	if env == nil {
		return nil, nil
	}
	byName := map[string]string{}
	for _, kv := range env {
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("environment entry %q holds a NUL", kv)
		}
		// A leading '=' belongs to the name (per-drive directories: "=C:=C:\x").
		i := strings.IndexByte(kv[min(1, len(kv)):], '=')
		if i < 0 {
			continue
		}
		i += min(1, len(kv))
		byName[strings.ToUpper(kv[:i])] = kv
	}
	if _, ok := byName["SYSTEMROOT"]; !ok {
		if v := os.Getenv("SYSTEMROOT"); v != "" {
			byName["SYSTEMROOT"] = "SYSTEMROOT=" + v
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var block []uint16
	for _, n := range names {
		block = append(block, utf16.Encode([]rune(byName[n]))...)
		block = append(block, 0)
	}
	if len(block) == 0 {
		block = append(block, 0)
	}
	block = append(block, 0)
	return &block[0], nil
}

func filetime(ft windows.Filetime) uint64 {
	return uint64(ft.HighDateTime)<<32 | uint64(ft.LowDateTime)
}

// jobName is where a stopper finds the app's job: derived from the handle,
// so nothing beyond the PID file needs to be stored.
func jobName(ns string, h Handle) string {
	return fmt.Sprintf("%sferry-proc-%d-%d", ns, h.PID, h.StartTime)
}

// adoptIntoJob puts the (still suspended) process in a new job of its own.
func adoptIntoJob(process windows.Handle, h Handle) error {
	var job windows.Handle
	var err error
	for _, ns := range jobNamespaces {
		// Global\ needs SeCreateGlobalPrivilege (services, administrators);
		// an ordinary user falls back to its session's namespace.
		name := windows.StringToUTF16Ptr(jobName(ns, h))
		r, _, e := procCreateJobObjectW.Call(0, uintptr(unsafe.Pointer(name)))
		if r == 0 {
			err = e
			continue
		}
		job, err = windows.Handle(r), nil
		if errors.Is(e, windows.ERROR_ALREADY_EXISTS) {
			// Someone made a job by that name first: never use theirs.
			windows.CloseHandle(job) //nolint:errcheck
			return fmt.Errorf("job %s already exists", jobName(ns, h))
		}
		break
	}
	if err != nil {
		return fmt.Errorf("create job: %w", err)
	}
	defer windows.CloseHandle(job) //nolint:errcheck
	// Let the app's own children break away when they ask to, as they
	// could outside ferry; the tree walk in kill still finds them.
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		return fmt.Errorf("set job limits: %w", err)
	}
	if err := windows.AssignProcessToJobObject(job, process); err != nil {
		return fmt.Errorf("assign job: %w", err)
	}
	// Keep the job's name alive after we close our handle: the app holds a
	// query-only, non-inheritable handle to its own job.
	var held windows.Handle
	if err := windows.DuplicateHandle(windows.CurrentProcess(), job, process, &held,
		jobObjectQuery, false, 0); err != nil {
		return fmt.Errorf("hand job to process: %w", err)
	}
	return nil
}

// openJob opens the job Start made for h, if it still exists and really
// holds h's process (a name is only a claim).
func openJob(h Handle) windows.Handle {
	// IsProcessInJob accepts limited query rights per its documentation;
	// Wine insists on full ones, which we normally have over our own app.
	proc, err := openProcessChecked(h.PID, h.StartTime, windows.PROCESS_QUERY_INFORMATION)
	if err != nil {
		if proc, err = openProcessChecked(h.PID, h.StartTime, windows.PROCESS_QUERY_LIMITED_INFORMATION); err != nil {
			return 0
		}
	}
	defer windows.CloseHandle(proc) //nolint:errcheck
	for _, ns := range jobNamespaces {
		name := windows.StringToUTF16Ptr(jobName(ns, h))
		r, _, _ := procOpenJobObjectW.Call(uintptr(jobObjectQuery|jobObjectTerminate), 0, uintptr(unsafe.Pointer(name)))
		if r == 0 {
			continue
		}
		job := windows.Handle(r)
		var in int32
		ok, _, _ := procIsProcessInJob.Call(uintptr(proc), uintptr(job), uintptr(unsafe.Pointer(&in)))
		if ok != 0 && in != 0 {
			return job
		}
		windows.CloseHandle(job) //nolint:errcheck
	}
	return 0
}

// openProcessChecked opens pid with access and checks that it is the
// process created at startTime (0: any) and still running.
func openProcessChecked(pid int, startTime uint64, access uint32) (windows.Handle, error) {
	p, err := windows.OpenProcess(access|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return 0, err
	}
	st, ok := queryStart(p)
	if !ok || (startTime != 0 && st != startTime) {
		windows.CloseHandle(p) //nolint:errcheck
		return 0, ErrNotRunning
	}
	return p, nil
}

// queryStart returns the creation time of a running process. An exited one
// (exit code other than STILL_ACTIVE) is gone; so is one whose handle is
// signalled, which also catches an app that exited with code 259 when the
// handle allows waiting.
func queryStart(p windows.Handle) (uint64, bool) {
	var code uint32
	if err := windows.GetExitCodeProcess(p, &code); err != nil || code != stillActive {
		return 0, false
	}
	if ev, err := windows.WaitForSingleObject(p, 0); err == nil && ev == windows.WAIT_OBJECT_0 {
		return 0, false
	}
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(p, &created, &exited, &kernel, &user); err != nil {
		return 0, false
	}
	return filetime(created), true
}

func startTime(pid int) (uint64, bool) {
	if pid <= 0 || int64(pid) > int64(^uint32(0)) {
		return 0, false
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		// SYNCHRONIZE may be denied where limited queries are not.
		if p, err = windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid)); err != nil {
			return 0, false
		}
	}
	defer windows.CloseHandle(p) //nolint:errcheck
	return queryStart(p)
}

// terminate asks the app's process group to stop with CTRL_BREAK_EVENT, sent
// by a helper process (see init). A process without a console (not started
// by Start) cannot be asked: it is killed instead, since Stop must end it.
func terminate(h Handle) error {
	err := sendCtrlBreak(h.PID)
	if err == nil {
		return nil
	}
	if kerr := kill(h); kerr != nil {
		return fmt.Errorf("ctrl-break: %v; kill: %w", err, kerr)
	}
	return nil
}

func sendCtrlBreak(pid int) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("ctrl-break helper: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ctrlBreakHelperTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = []string{ctrlBreakEnv + "=" + strconv.Itoa(pid)}
	if v := os.Getenv("SYSTEMROOT"); v != "" {
		cmd.Env = append(cmd.Env, "SYSTEMROOT="+v)
	}
	// No console of its own: the helper attaches to the app's instead.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CreationFlags:    windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP,
		HideWindow:       true,
		NoInheritHandles: true,
	}
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == helperNoConsole:
		return errGracefulUnsupported
	default:
		return fmt.Errorf("ctrl-break helper: %w", err)
	}
}

// ctrlBreakHelper runs in the helper process: attach to the target's
// console, raise CTRL_BREAK_EVENT in the target's process group, leave.
func ctrlBreakHelper(arg string) int {
	pid, err := strconv.ParseUint(arg, 10, 32)
	if err != nil || pid == 0 {
		return helperFailed
	}
	// Were the event to reach us too, the default handler would end us
	// before we report: take it.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	procFreeConsole.Call() //nolint:errcheck
	if r, _, _ := procAttachConsole.Call(uintptr(pid)); r == 0 {
		return helperNoConsole
	}
	defer procFreeConsole.Call() //nolint:errcheck
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(pid)); err != nil {
		return helperFailed
	}
	return helperDelivered
}

// kill ends the app and everything it started: the job first (atomic, and
// it catches orphans whose parent already exited), then, for processes
// outside the job, the tree of parent PIDs, checked against creation times
// so a reused PID is not mistaken for a child.
func kill(h Handle) error {
	var errs []error
	if job := openJob(h); job != 0 {
		if err := windows.TerminateJobObject(job, exitKilled); err != nil {
			errs = append(errs, fmt.Errorf("terminate job: %w", err))
		}
		windows.CloseHandle(job) //nolint:errcheck
	}
	known := map[uint32]uint64{uint32(h.PID): h.StartTime}
	if h.StartTime == 0 {
		if st, ok := startTime(h.PID); ok {
			known[uint32(h.PID)] = st
		}
	}
	pending := []uint32{uint32(h.PID)}
	for round := 0; round < 5; round++ {
		for _, pid := range pending {
			if err := terminatePID(pid, known[pid]); err != nil {
				errs = append(errs, err)
			}
		}
		more, err := descendants(known)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(more) == 0 {
			break
		}
		pending = pending[:0]
		for pid, st := range more {
			known[pid] = st
			pending = append(pending, pid)
		}
	}
	return errors.Join(errs...)
}

func terminatePID(pid uint32, st uint64) error {
	p, err := openProcessChecked(int(pid), st, windows.PROCESS_TERMINATE)
	if err != nil {
		return nil // gone already, or a different process now
	}
	defer windows.CloseHandle(p) //nolint:errcheck
	if err := windows.TerminateProcess(p, exitKilled); err != nil {
		if _, alive := queryStart(p); alive {
			return fmt.Errorf("terminate pid %d: %w", pid, err)
		}
	}
	return nil
}

// descendants returns live processes not in known whose parent is in known
// and which were created after that parent.
func descendants(known map[uint32]uint64) (map[uint32]uint64, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("process snapshot: %w", err)
	}
	defer windows.CloseHandle(snap) //nolint:errcheck
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	found := map[uint32]uint64{}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		parentStart, isChild := known[e.ParentProcessID]
		if !isChild || e.ProcessID == 0 {
			continue
		}
		if _, seen := known[e.ProcessID]; seen {
			continue
		}
		st, ok := startTime(int(e.ProcessID))
		if !ok || (parentStart != 0 && st < parentStart) {
			continue
		}
		found[e.ProcessID] = st
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return found, fmt.Errorf("process snapshot: %w", err)
	}
	return found, nil
}
