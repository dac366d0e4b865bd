package proc

import (
	"context"
	"os/exec"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	containOnce sync.Once
	// contained reports whether this process is in its kill-on-close job.
	contained bool
)

func prepare(cmd *exec.Cmd) {
	containOnce.Do(func() { contained = containSelf() == nil })
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own console process group: a Ctrl-C meant for ferry does not
	// reach it twice, and its tree is ended as one.
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// containSelf puts this process into a new job that kills every process
// in it when its last handle closes. The handle is never closed: the
// kernel closes it when this process ends, whatever ends it, and
// everything started since (children inherit the job, and so do theirs)
// ends with it. The job allows breakaway, so the app (Start) still lives
// on. When this process is already in a job that forbids breakaway (a
// CI runner's, SSM's), nothing is done: the app could not leave a job of
// ours either, and would die with it.
func containSelf() error {
	var in int32
	r, _, e := procIsProcessInJob.Call(uintptr(windows.CurrentProcess()), 0, uintptr(unsafe.Pointer(&in)))
	if r == 0 {
		return e
	}
	if in != 0 {
		var cur windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
		if err := windows.QueryInformationJobObject(0, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&cur)), uint32(unsafe.Sizeof(cur)), nil); err != nil {
			return err
		}
		if cur.BasicLimitInformation.LimitFlags&(windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK|windows.JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK) == 0 {
			return errBreakawayForbidden
		}
	}
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return err
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | windows.JOB_OBJECT_LIMIT_BREAKAWAY_OK
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job) //nolint:errcheck
		return err
	}
	if err := windows.AssignProcessToJobObject(job, windows.CurrentProcess()); err != nil {
		windows.CloseHandle(job) //nolint:errcheck
		return err
	}
	return nil
}

// Contained reports whether children of this process die with it through
// its kill-on-close job (Windows; see Prepare). Tests ask it.
func Contained() bool { return contained }

type breakawayForbidden struct{}

func (breakawayForbidden) Error() string {
	return "this process's job forbids breakaway: no job of ferry's own"
}

var errBreakawayForbidden error = breakawayForbidden{}

func killGroup(cmd *exec.Cmd) error {
	if cmd.ProcessState != nil {
		// Reaped: its PID may be someone else's now. What it left is
		// ended with this process's job.
		return nil
	}
	pid := cmd.Process.Pid
	st, ok := startTime(pid)
	if !ok {
		return nil
	}
	return kill(Handle{PID: pid, StartTime: st})
}

// killGroups: on Windows the dead holder's job already ended its
// children; a recorded group is killed as a tree if it still runs.
func killGroups(ctx context.Context, groups []Group, wait time.Duration) ([]Group, error) {
	var found []Group
	for _, g := range groups {
		h := Handle{PID: g.PGID, StartTime: g.Start}
		if Alive(h) {
			found = append(found, g)
			kill(h)                //nolint:errcheck
			waitGone(ctx, h, wait) //nolint:errcheck
		}
	}
	return found, nil
}
