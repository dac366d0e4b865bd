//go:build windows

package gates

import (
	"os/exec"
	"strconv"
	"syscall"
)

// envCaseInsensitive is true on Windows, where Path and PATH are one variable.
const envCaseInsensitive = true

// createNewProcessGroup is CREATE_NEW_PROCESS_GROUP from the Windows API.
const createNewProcessGroup = 0x00000200

// prepareGroup gives the tool its own process group, so console signals
// meant for ferry do not hit it twice and its tree can be ended as one.
func prepareGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= createNewProcessGroup
}

// killGroup ends the tool and its child processes: Windows has no kill of
// a process group, so taskkill walks the tree.
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if cmd.ProcessState == nil {
		_ = exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(cmd.Process.Pid)).Run()
		_ = cmd.Process.Kill()
	}
	return nil
}

// venvBinDir is where a Windows virtualenv keeps its interpreter and scripts.
const venvBinDir = "Scripts"

// pythonNames are the interpreter names tried in a virtualenv and on PATH.
var pythonNames = []string{"python", "python3"}
