//go:build !windows

package agentcli

import (
	"os"
	"path/filepath"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/proc"
)

// sweepAfter starts, once the result is printed, a detached ferry-agent
// that removes what pruning moved into the root's trash/, so that
// neither this process's exit (which SSM and ferry wait for) nor the
// next deploy waits for thousands of unlinks. A remover that dies or
// cannot start leaves trash/ to the next prune.
func sweepAfter(root string) {
	root, err := agent.ResolveRoot(root)
	if err != nil || !agent.TrashPending(root) {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	proc.Start(proc.Spec{Argv: []string{exe, emptyTrashOp, root}, Dir: root, Env: os.Environ(),
		LogPath: filepath.Join(root, "shared", "logs", "trash.log")})
}
