//go:build windows

package agent

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// pointCurrent refreshes the `current` junction for people; it is never
// the truth. The switch has already replaced state.json (os.Rename is
// MoveFileEx with MOVEFILE_REPLACE_EXISTING, one rename in the file
// system, proven to replace the file under Wine by every deploy there),
// and a failure here must not fail a deploy, so every error is swallowed.
//
// NTFS cannot rename one directory over another (a junction is a
// directory), so "create current.tmp, rename it over current" is not
// atomic on Windows: it needs a removal first, leaving an instant with no
// `current`. Rewriting the reparse data of the existing junction is one
// file-system operation, so that is done whenever `current` is a junction
// already; the tmp-then-rename path only runs for the first link, or to
// replace something that is not a junction (such as the symbolic link an
// earlier agent made). On a volume without reparse points (or under Wine
// 8, which lacks them) `current` is removed rather than left stale.
func pointCurrent(l layout, id string) error {
	cur := l.current()
	if id == "" {
		os.Remove(cur)
		return nil
	}
	target := l.release(id)
	if isJunction(cur) && setJunction(cur, target) == nil {
		return nil
	}
	tmp := cur + ".tmp"
	os.Remove(tmp) // a link or an empty directory only: never contents
	if err := createJunction(tmp, target); err != nil {
		os.Remove(cur)
		return nil
	}
	os.Remove(cur)
	if err := os.Rename(tmp, cur); err != nil {
		os.Remove(tmp)
	}
	return nil
}

// currentTarget names the release the `current` junction points at, or
// "" when there is none.
func currentTarget(l layout) string {
	t, err := readJunction(l.current())
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

// syncDir flushes a directory's metadata, best effort: NTFS journals it
// anyway, and FlushFileBuffers on a directory needs write access.
func syncDir(dir string) {
	p, err := windows.UTF16PtrFromString(longPathname(dir))
	if err != nil {
		return
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return
	}
	windows.FlushFileBuffers(h) //nolint:errcheck
	windows.CloseHandle(h)      //nolint:errcheck
}

// linkShared makes dst (inside a release that has never run: a file a
// running app holds open cannot be replaced on Windows, so nothing here
// ever writes into a release that runs) share src (inside shared/),
// without the symbolic-link privilege a service account may lack:
//
//   - a directory becomes a junction; where the volume has no reparse
//     points, a symbolic link if this account may make one. A copy would
//     silently fork the data (uploads written to the release, lost at the
//     next deploy), so a directory that cannot be linked is an error.
//   - a file becomes a hard link (same volume), else a copy: a snapshot of
//     the file as it is now, which is what an env file needs.
//
// Removing a release later removes the junction, never the shared data
// behind it (RemoveDirectory deletes a junction, not its target).
func linkShared(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		jerr := createJunction(dst, src)
		if jerr == nil {
			return nil
		}
		// Some implementations report a symbolic link made when it was
		// not (Wine 8): believe only what Lstat sees.
		if os.Symlink(src, dst) == nil {
			if _, err := os.Lstat(dst); err == nil {
				return nil
			}
		}
		return fmt.Errorf("cannot link directory %s: %w; no symbolic-link privilege either", dst, jerr)
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst)
}
