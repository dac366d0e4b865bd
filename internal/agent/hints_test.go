package agent_test

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPortHeldByForeignProcessIsNamed starts a first deploy while a
// process ferry did not start holds the app's port: the error names that
// process, and no hint points at an app log that was never written.
func TestPortHeldByForeignProcessIsNamed(t *testing.T) {
	s := newSite(t)
	squatter := exec.Command("python3", "-m", "http.server", "--bind", "127.0.0.1", fmt.Sprint(s.port))
	squatter.Dir = t.TempDir()
	if err := squatter.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { squatter.Process.Kill(); squatter.Wait() })
	waitUntil(t, "the squatter to listen", func() bool { return s.health() == "" && portOpen(s.port) })

	r := runAgent(t, s.spec("apply", s.git("rev-parse", "HEAD")))
	if r.code == 0 {
		t.Fatalf("a deploy onto a held port must fail: %s", r)
	}
	if want := fmt.Sprintf("pid %d (python", squatter.Process.Pid); !strings.Contains(r.result.Error, want) {
		t.Fatalf("the error must name the process holding the port (%s): %s", want, r)
	}
	for _, h := range r.result.Hints {
		if strings.Contains(h, "shared/logs/app-") {
			t.Fatalf("a hint points at an app log that does not exist: %q", h)
		}
	}
	if !strings.Contains(strings.Join(r.result.Hints, "\n"), fmt.Sprintf("stop pid %d", squatter.Process.Pid)) {
		t.Fatalf("the hint must say what to do: %q", r.result.Hints)
	}
}

// TestExtractionErrorIsItsOwn exports a commit whose tree cannot be
// extracted (a symlink leaving the release, then more data than a pipe
// holds): the error is the extraction's, not git's "signal: broken pipe".
func TestExtractionErrorIsItsOwn(t *testing.T) {
	s := newSite(t)
	os.Symlink("../../../../../etc/passwd", filepath.Join(s.repo, "a-escape"))
	big := make([]byte, 4<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(s.repo, "z.bin"), big, 0o644)
	s.git("add", "-A")
	s.git("commit", "-q", "-m", "escape")
	r := runAgent(t, s.spec("apply", s.git("rev-parse", "HEAD")))
	if r.code != 1 {
		t.Fatalf("an archive that leaves the release must fail the fetch: %s", r)
	}
	if !strings.Contains(r.result.Error, "leaves the release directory") || strings.Contains(r.result.Error, "broken pipe") {
		t.Fatalf("the extraction's own error must be reported: %q", r.result.Error)
	}
}

func portOpen(port int) bool {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}
