//go:build !windows

package fslink

import (
	"errors"
	"os"
	"path/filepath"
)

// Point makes link name the directory target by renaming a fresh symbolic
// link over it: rename(2) is atomic, so link is never missing or half
// made. The link holds target relative to link's directory, so the root
// can be moved or mounted elsewhere as a whole.
func Point(link, target string) error {
	rel, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		return err
	}
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		return err
	}
	SyncDir(filepath.Dir(link))
	return nil
}

// Remove deletes link, if it exists.
func Remove(link string) error {
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Target returns what link names, as stored.
func Target(link string) (string, error) { return os.Readlink(link) }

// SyncDir flushes a directory's entries, so that a rename in it survives
// a power loss; best effort.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Share makes dst (inside a release) point at src (inside shared/),
// replacing whatever dst was.
func Share(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Symlink(src, dst)
}

// ReadFile reads a file that another process may replace meanwhile; on
// Unix a rename never waits for readers, so this is os.ReadFile.
func ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }
