//go:build windows

package fslink

// Unit tests of the Windows implementation. They run natively on Windows
// and, from Linux, under Wine (TestWindowsUnitTestsUnderWine in
// fslink_wine_test.go builds this package's tests for windows).

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testDir is a fresh directory for one test. Wine 8 cannot run Go's
// RemoveAll ("Invalid function"), so under Wine the Linux side names a
// directory (testDirEnv) that it removes itself.
func testDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv(testDirEnv)
	if base == "" {
		return t.TempDir()
	}
	d := filepath.Join(base, t.Name())
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestWinWriteAndReadFile replaces a file and reads it back past
// MAX_PATH, where ReadFile needs the \\?\ prefix itself.
func TestWinWriteAndReadFile(t *testing.T) {
	dir := testDir(t)
	if _, err := ReadFile(filepath.Join(dir, "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want os.ErrNotExist", err)
	}
	long := dir
	for len(long) < 300 {
		long = filepath.Join(long, "deployment-root-segment-0123456789")
	}
	if err := os.MkdirAll(long, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(long, "state.json")
	for _, content := range []string{"deep", "deeper"} {
		if err := WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := ReadFile(path); err != nil || string(b) != "deeper" {
		t.Fatalf("a path of %d characters: %q, %v", len(path), b, err)
	}
}

// TestWinPoint: with junctions the link names the newest target; without
// them (Wine 8) it is gone rather than stale. Either way no link.tmp stays
// and the targets keep their contents.
func TestWinPoint(t *testing.T) {
	dir := testDir(t)
	link := filepath.Join(dir, "current")
	for _, id := range []string{"r1", "r2"} {
		target := filepath.Join(dir, "releases", id)
		os.MkdirAll(target, 0o755)
		os.WriteFile(filepath.Join(target, "REVISION"), []byte(id), 0o644)
		if err := Point(link, target); err != nil {
			t.Fatalf("Point must not fail: %v", err)
		}
		if _, err := os.Lstat(link + ".tmp"); err == nil {
			t.Fatal("current.tmp was left behind")
		}
		got, err := Target(link)
		switch {
		case err == nil && strings.EqualFold(got, target):
			if b, _ := os.ReadFile(filepath.Join(link, "REVISION")); string(b) != id {
				t.Fatalf("through the junction REVISION is %q, want %s", b, id)
			}
		case err != nil:
			if _, serr := os.Lstat(link); serr == nil {
				t.Fatalf("no junction (%v), yet a stale %s is left", err, link)
			}
			t.Logf("no junctions on this volume: %v", err)
		default:
			t.Fatalf("current names %q, want %q", got, target)
		}
	}
	if err := Remove(link); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "releases", "r2", "REVISION")); err != nil {
		t.Fatal("removing the link removed what it named")
	}
}

func TestWinShare(t *testing.T) {
	dir := testDir(t)
	shared := filepath.Join(dir, "shared")
	rel := filepath.Join(dir, "release")
	os.MkdirAll(filepath.Join(shared, "uploads"), 0o755)
	os.MkdirAll(rel, 0o755)
	os.WriteFile(filepath.Join(shared, "app.env"), []byte("A=1\r\n"), 0o644)

	// A file: a hard link on the same volume.
	if err := Share(filepath.Join(shared, "app.env"), filepath.Join(rel, "app.env")); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(shared, "app.env"))
	b, _ := os.Stat(filepath.Join(rel, "app.env"))
	if !os.SameFile(a, b) {
		t.Fatal("the env file was copied, not hard-linked, on the same volume")
	}

	// A directory: a junction (or symbolic link), never a copy.
	err := Share(filepath.Join(shared, "uploads"), filepath.Join(rel, "uploads"))
	if err != nil {
		if !strings.Contains(err.Error(), "cannot link directory") {
			t.Fatalf("a directory that cannot be linked: %v", err)
		}
		if _, serr := os.Stat(filepath.Join(rel, "uploads")); serr == nil {
			t.Fatal("a directory that could not be linked was left as something else")
		}
		t.Logf("no directory links here: %v", err)
		return
	}
	os.WriteFile(filepath.Join(rel, "uploads", "new.txt"), nil, 0o644)
	if _, err := os.Stat(filepath.Join(shared, "uploads", "new.txt")); err != nil {
		t.Fatal("a file written through the release's uploads is not in shared: it was copied")
	}
}
