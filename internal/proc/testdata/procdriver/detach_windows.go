package main

import "syscall"

// naiveDetach is how a start is often written on Windows (the SOP's
// Start-Process does about this): detached, own group, handles inherited.
func naiveDetach() *syscall.SysProcAttr {
	const detachedProcess, newProcessGroup = 0x00000008, 0x00000200
	return &syscall.SysProcAttr{CreationFlags: detachedProcess | newProcessGroup}
}
