//go:build !windows

package gates

import (
	"os/exec"

	"github.com/ferryhq/ferry/internal/proc"
)

// envCaseInsensitive is false on unix: FOO and foo are different variables.
const envCaseInsensitive = false

// prepareGroup readies the tool the way every child of ferry is (see
// proc.Prepare): a process group of its own, so cancelling a gate reaches
// everything the tool started, and a parent-death signal, so the tool
// never outlives ferry.
func prepareGroup(cmd *exec.Cmd) { proc.Prepare(cmd) }

// killGroup kills the tool's whole process group. A group already gone is
// not an error.
func killGroup(cmd *exec.Cmd) error { return proc.KillGroup(cmd) }

// venvBinDir is where a virtualenv keeps its interpreter and scripts.
const venvBinDir = "bin"

// pythonNames are the interpreter names tried in a virtualenv and on PATH.
var pythonNames = []string{"python3", "python"}
