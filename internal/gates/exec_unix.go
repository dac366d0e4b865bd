//go:build !windows

package gates

import (
	"errors"
	"os/exec"
	"syscall"
)

// envCaseInsensitive is false on unix: FOO and foo are different variables.
const envCaseInsensitive = false

// prepareGroup puts the tool in a process group of its own, so cancelling
// a gate can reach everything the tool started.
func prepareGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// killGroup kills the tool's whole process group. A group already gone is
// not an error.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// venvBinDir is where a virtualenv keeps its interpreter and scripts.
const venvBinDir = "bin"

// pythonNames are the interpreter names tried in a virtualenv and on PATH.
var pythonNames = []string{"python3", "python"}
