//go:build !linux && !windows

package proc

import (
	"errors"
	"syscall"
)

// setParentDeathSignal: only Linux has a parent-death signal; elsewhere
// the recorded groups (KillGroups) are the only guard.
func setParentDeathSignal(*syscall.SysProcAttr) {}

func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
