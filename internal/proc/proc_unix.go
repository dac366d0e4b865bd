//go:build !windows

package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

func start(spec Spec) (Handle, error) {
	logf, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Handle{}, err
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return Handle{}, err
	}
	defer devnull.Close()
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.Stdin = devnull
	cmd.Stdout = logf
	cmd.Stderr = logf
	// A new session: the app survives the starter's process group being
	// killed (SSM kills the command's group when it ends or times out).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Handle{}, err
	}
	pid := cmd.Process.Pid
	// Reap it if it dies while we still run, so it does not linger as a
	// zombie that looks alive; once we exit, init adopts it.
	go cmd.Wait() //nolint:errcheck
	st, _ := startTime(pid)
	return Handle{PID: pid, StartTime: st}, nil
}

// startTime reads field 22 of /proc/PID/stat. A zombie counts as gone.
func startTime(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		// No procfs (macOS): fall back to signal 0.
		if os.IsNotExist(err) && syscall.Kill(pid, 0) == nil {
			if _, serr := os.Stat("/proc/self/stat"); serr != nil {
				return 0, true
			}
		}
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: split after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 20 {
		return 0, false
	}
	if s := string(fields[0]); s == "Z" || s == "X" {
		return 0, false
	}
	v, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// reapGroup is the end of a graceful stop: the leader is gone, and the
// rest of its process group (gunicorn's workers, uvicorn's reloaded
// server), which got the same signal, gets grace to follow, then is
// killed. A worker that outlives its master keeps the port and the
// release's files, and nothing would ever stop it.
func reapGroup(ctx context.Context, h Handle, grace time.Duration) error {
	if h.PID <= 0 || !groupAlive(h.PID) {
		return nil
	}
	gone := func(context.Context) (bool, error) { return !groupAlive(h.PID), nil }
	b := exitPoll
	b.Deadline = grace
	if poll.Until(ctx, b, gone) == nil {
		return nil
	}
	syscall.Kill(-h.PID, syscall.SIGKILL) //nolint:errcheck // gone meanwhile is fine
	b.Deadline = killWait
	if err := poll.Until(context.WithoutCancel(ctx), b, gone); err != nil {
		return fmt.Errorf("process group %d still running %s after kill", h.PID, killWait)
	}
	return nil
}

func terminate(h Handle) error { return signalGroup(h, syscall.SIGTERM) }
func kill(h Handle) error      { return signalGroup(h, syscall.SIGKILL) }

// signalGroup signals the app's process group (it leads its own session),
// so workers it forked end with it.
func signalGroup(h Handle, sig syscall.Signal) error {
	pgid, err := syscall.Getpgid(h.PID)
	if err == nil && pgid == h.PID {
		if err := syscall.Kill(-pgid, sig); err == nil {
			return nil
		}
	}
	if err := syscall.Kill(h.PID, sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}
