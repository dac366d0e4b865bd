//go:build windows

package gates

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// envCaseInsensitive is true on Windows, where Path and PATH are one variable.
const envCaseInsensitive = true

// exeSuffixes are the extensions Windows runs without being told.
var exeSuffixes = []string{"", ".exe", ".cmd", ".bat"}

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

// executable finds path itself or path with one of the runnable extensions.
func executable(path string) (string, bool) {
	for _, ext := range exeSuffixes {
		p := path
		if ext != "" && !strings.HasSuffix(strings.ToLower(path), ext) {
			p = path + ext
		} else if ext != "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			if ext == "" && !hasRunnableExt(p) {
				continue
			}
			return p, true
		}
	}
	return "", false
}

func hasRunnableExt(p string) bool {
	lp := strings.ToLower(p)
	for _, ext := range exeSuffixes[1:] {
		if strings.HasSuffix(lp, ext) {
			return true
		}
	}
	return false
}

// venvBinDir is where a Windows virtualenv keeps its interpreter and scripts.
const venvBinDir = "Scripts"

// pythonNames are the interpreter names tried in a virtualenv and on PATH.
var pythonNames = []string{"python", "python3"}
