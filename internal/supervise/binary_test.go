package supervise

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The copy a Windows service runs is the running executable, installed
// once per content, and the copies of older agents go.
func TestInstallAgentBinary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	old := filepath.Join(dir, "ferry-agent-000000000000.exe")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(old, []byte("an older agent"), 0o755)

	first, err := installAgentBinary(dir)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	want, _ := os.ReadFile(self)
	if got, _ := os.ReadFile(first); !bytes.Equal(got, want) {
		t.Fatalf("%s is not a copy of the running executable", first)
	}
	again, err := installAgentBinary(dir)
	if err != nil || again != first {
		t.Fatalf("a second install gave %s, %v; want the same copy %s", again, err, first)
	}
	removeOldAgentBinaries(dir, first)
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 1 || left[0] != first {
		t.Fatalf("bin holds %v, want only %s", left, first)
	}
}
