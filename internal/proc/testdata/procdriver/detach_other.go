//go:build !windows

package main

import "syscall"

// naiveDetach starts a new session, keeping the inherited descriptors.
func naiveDetach() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
