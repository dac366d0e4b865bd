//go:build !windows

package fslink

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPointRenamesARelativeLinkIntoPlace(t *testing.T) {
	root := t.TempDir()
	for _, id := range []string{"r1", "r2"} {
		os.MkdirAll(filepath.Join(root, "releases", id), 0o755)
	}
	link := filepath.Join(root, "current")
	for _, id := range []string{"r1", "r2"} {
		if err := Point(link, filepath.Join(root, "releases", id)); err != nil {
			t.Fatal(err)
		}
		got, err := Target(link)
		if want := filepath.Join("releases", id); err != nil || got != want {
			t.Fatalf("current names %q (%v), want %q: relative, so the root can move", got, err, want)
		}
	}
	if _, err := os.Lstat(link + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("current.tmp was left behind: %v", err)
	}
	if err := Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := Remove(link); err != nil {
		t.Fatalf("removing a missing link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "releases", "r2")); err != nil {
		t.Fatal("Remove took the release with the link")
	}
}

func TestShareReplacesWhatTheReleaseCarried(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "shared", "uploads")
	dst := filepath.Join(dir, "release", "uploads")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(dst, 0o755)
	os.WriteFile(filepath.Join(dst, "from-git.txt"), nil, 0o644)
	if err := Share(src, dst); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dst, "new.txt"), []byte("x"), 0o644)
	if _, err := os.Stat(filepath.Join(src, "new.txt")); err != nil {
		t.Fatal("a file written through the release is not in shared/")
	}
	if _, err := os.Stat(filepath.Join(dst, "from-git.txt")); !os.IsNotExist(err) {
		t.Fatal("the release's own copy is still there")
	}
}

func TestWriteFileReplacesWithItsOwnPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.env")
	// A tmp left by a killed writer, readable by all.
	os.WriteFile(path+".tmp", []byte("stale"), 0o644)
	if err := WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := ReadFile(path)
	if err != nil || string(b) != "two" {
		t.Fatalf("read %q, %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 whatever the stale tmp had", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatal("tmp left behind")
	}
}

func TestCopyRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(src, []byte("content"), 0o644)
	if err := Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "content" {
		t.Fatalf("copy holds %q", b)
	}
	if err := Copy(src, dst); err == nil {
		t.Fatal("Copy overwrote an existing file")
	}
}
