package supervise

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/fslink"
)

// Windows services run a copy of ferry-agent in Target.BinDir: the agent
// itself may run from a download cache that gets cleaned, and a running
// executable cannot be replaced on Windows; a copy named after its content
// is never overwritten while it runs, and a new agent version gets a new
// name.

// agentBinaryName is the copy's name for an executable whose SHA-256 is
// sum (hex).
func agentBinaryName(sum string) string {
	return "ferry-agent-" + sum[:12] + ".exe"
}

// installAgentBinary copies the running executable into dir
// unless the same content is already there, and returns the copy's path.
func installAgentBinary(dir string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the agent executable: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("read the agent executable: %w", err)
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hash the agent executable: %w", err)
	}
	dst := filepath.Join(dir, agentBinaryName(hex.EncodeToString(h.Sum(nil))))
	if st, err := os.Stat(dst); err == nil && st.Size() == size {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", dst, os.Getpid())
	os.Remove(tmp)
	if err := fslink.Copy(exe, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		if st, serr := os.Stat(dst); serr == nil && st.Size() == size {
			return dst, nil // a concurrent copy won
		}
		return "", fmt.Errorf("install agent binary: %w", err)
	}
	return dst, nil
}

// removeOldAgentBinaries deletes the copies no service runs any more; one
// still running cannot be deleted on Windows, and is left for next time.
func removeOldAgentBinaries(dir, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, "ferry-agent-*.exe"))
	for _, p := range old {
		if !strings.EqualFold(p, keep) {
			os.Remove(p)
		}
	}
}
