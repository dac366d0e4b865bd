//go:build windows

package agent

import (
	"os"
	"path/filepath"
)

// pointCurrent refreshes the `current` link for people. On Windows the
// truth is state.json alone (replaced atomically); a symbolic link may
// need a privilege the service account lacks, so failures are ignored.
// The Windows work replaces this with a junction.
func pointCurrent(l layout, id string) error {
	os.Remove(l.current())
	if id != "" {
		_ = os.Symlink(filepath.Join(l.releases(), id), l.current())
	}
	return nil
}

func currentTarget(l layout) string {
	t, err := os.Readlink(l.current())
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

func syncDir(string) {}

// linkShared copies nothing and links nothing it cannot: a symbolic link
// may need a privilege, so fall back to a hard link for files.
func linkShared(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.Symlink(src, dst); err == nil {
		return nil
	}
	return os.Link(src, dst)
}
