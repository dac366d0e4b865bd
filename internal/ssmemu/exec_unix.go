//go:build unix

package ssmemu

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup makes the shell lead a new process group, as the Linux
// agent does, so that a timeout or cancel can kill everything it started
// except children that left the group with setsid.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
