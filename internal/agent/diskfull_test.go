package agent

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFullSaysSo makes the disk full where the state is written (the
// write seam: a tiny tmpfs needs root): the error says the disk holding
// the root is full, and the hint says to free space there.
func TestDiskFullSaysSo(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "state.json"), []byte("garbage"), 0o644)
	saved := writeFile
	writeFile = func(path string, _ []byte, _ os.FileMode) error {
		return &fs.PathError{Op: "write", Path: path + ".tmp", Err: syscall.ENOSPC}
	}
	defer func() { writeFile = saved }()
	res := Run(context.Background(), Spec{Protocol: Protocol, Op: OpRepair, Root: root, App: "app", Environment: "test"}, Options{})
	if res.ExitCode != 1 || !strings.Contains(res.Error, "the disk holding "+root+" is full") {
		t.Fatalf("a full disk must be named as the cause: %s %q", res.Outcome, res.Error)
	}
	if h := strings.Join(res.Hints, "\n"); !strings.Contains(h, "free space on the disk that holds "+root) {
		t.Fatalf("the hint must say to free space, and where: %q", h)
	}
	if _, err := os.Stat(filepath.Join(root, "lock", "owner.json")); !os.IsNotExist(err) {
		t.Fatalf("a full disk in the lock step must not leave the lock: %v", err)
	}
}
