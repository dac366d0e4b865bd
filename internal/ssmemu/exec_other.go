//go:build !unix

package ssmemu

import (
	"os"
	"os/exec"
)

// setProcessGroup has no equivalent here: the emulator runs scripts with sh,
// so on Windows it only works where sh is installed, and a timeout kills the
// shell alone, not its children.
func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(p *os.Process) {
	_ = p.Kill()
}
