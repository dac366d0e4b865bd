//go:build windows

package gates

import (
	"os/exec"

	"github.com/ferryhq/ferry/internal/proc"
)

// envCaseInsensitive is true on Windows, where Path and PATH are one variable.
const envCaseInsensitive = true

// prepareGroup readies the tool the way every child of ferry is (see
// proc.Prepare): its own process group, so console signals meant for
// ferry do not hit it twice, and membership of ferry's kill-on-close job,
// so the tool and whatever it starts never outlive ferry.
func prepareGroup(cmd *exec.Cmd) { proc.Prepare(cmd) }

// killGroup ends the tool and its child processes (proc.KillGroup walks
// the tree).
func killGroup(cmd *exec.Cmd) error { return proc.KillGroup(cmd) }

// venvBinDir is where a Windows virtualenv keeps its interpreter and scripts.
const venvBinDir = "Scripts"

// pythonNames are the interpreter names tried in a virtualenv and on PATH.
var pythonNames = []string{"python", "python3"}
