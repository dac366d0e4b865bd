//go:build !windows

package agent

import (
	"os"
	"path/filepath"
)

// pointCurrent makes `current` name the release by renaming a fresh
// symlink over it: rename(2) is atomic, so `current` is never missing or
// half made.
func pointCurrent(l layout, id string) error {
	if id == "" {
		return removeIfExists(l.current())
	}
	tmp := l.current() + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join("releases", id), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.current()); err != nil {
		return err
	}
	syncDir(l.root)
	return nil
}

func currentTarget(l layout) string {
	t, err := os.Readlink(l.current())
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// linkShared makes dst (inside a release) point at src (inside shared/).
func linkShared(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Symlink(src, dst)
}
