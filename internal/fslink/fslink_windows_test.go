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

	"golang.org/x/sys/windows"
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

// TestWinWritePrivate writes a secret into a private directory: both end
// with a protected DACL (no inherited entries) that grants SYSTEM,
// Administrators and this account only; no entry for Users or Everyone.
func TestWinWritePrivate(t *testing.T) {
	dir := filepath.Join(testDir(t), "secrets")
	if err := MakePrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "r1.json")
	if err := WritePrivate(p, []byte(`{"vars":{"A":"s3cret"}}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p); err != nil || string(b) != `{"vars":{"A":"s3cret"}}` {
		t.Fatalf("read back %q, %v", b, err)
	}
	if underWine() {
		// Wine 8 keeps no DACL of its own on a file: it applies
		// SetNamedSecurityInfo without error and answers
		// GetNamedSecurityInfo from the Unix mode bits. What is proven
		// here is that the calls succeed and the data is written; the
		// DACL itself only on real Windows.
		t.Logf("under Wine: the DACL was set without error; Wine cannot store it to be read back")
		return
	}
	tok := windows.GetCurrentProcessToken()
	me, err := tok.GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, p} {
		sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		sddl := sd.String()
		ctl, _, _ := sd.Control()
		if ctl&windows.SE_DACL_PROTECTED == 0 {
			t.Errorf("%s: the DACL is not protected from inheritance: %s", path, sddl)
		}
		for _, want := range []string{";;;SY)", ";;;BA)", ";;;" + me.User.Sid.String() + ")"} {
			if !strings.Contains(sddl, want) {
				t.Errorf("%s: no entry %s in %s", path, want, sddl)
			}
		}
		for _, other := range []string{";;;WD)", ";;;BU)", ";;;AU)"} {
			if strings.Contains(sddl, other) {
				t.Errorf("%s: others may read it (%s): %s", path, other, sddl)
			}
		}
		t.Logf("%s: %s", filepath.Base(path), sddl)
	}
}

// TestWinLock: LockFileEx excludes a second open of the lock file, and
// closing the holder's handle frees it.
func TestWinLock(t *testing.T) {
	p := filepath.Join(testDir(t), "lock.flock")
	release, err := Lock(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second lock: %v, want ErrLocked", err)
	}
	release()
	again, err := Lock(p)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}

// underWine reports whether this test runs under Wine, whose ntdll
// exports wine_get_version.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
