//go:build !windows

package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

func prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setParentDeathSignal(cmd.SysProcAttr)
}

// Contained reports whether children die with this process: on Linux
// through the parent-death signal (and recorded groups), always.
func Contained() bool { return true }

func killGroup(cmd *exec.Cmd) error {
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

func killGroups(ctx context.Context, groups []Group, wait time.Duration) ([]Group, error) {
	var found []Group
	for _, g := range groups {
		if g.PGID <= 1 {
			continue
		}
		// The leader's PID cannot be reused while its group has members;
		// a live process under that PID with another start time means
		// the group is gone and the PID is someone else's now.
		if st, ok := startTime(g.PGID); ok && g.Start != 0 && st != g.Start {
			continue
		}
		if !groupAlive(g.PGID) {
			continue
		}
		found = append(found, g)
		syscall.Kill(-g.PGID, syscall.SIGKILL) //nolint:errcheck
	}
	if len(found) == 0 {
		return nil, nil
	}
	b := poll.Backoff{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond, Deadline: wait}
	err := poll.Until(ctx, b, func(context.Context) (bool, error) {
		for _, g := range found {
			if groupAlive(g.PGID) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return found, fmt.Errorf("processes of the dead holder are still running after SIGKILL: %w", err)
	}
	return found, nil
}
