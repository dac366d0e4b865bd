//go:build windows

package fslink

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// Point refreshes the junction link so that it names the directory
// target. It is for people and never fails: on Windows the truth of a
// deployment root is a file replaced with WriteFile (os.Rename is
// MoveFileEx with MOVEFILE_REPLACE_EXISTING, one rename in the file
// system), and a link that cannot be made must not fail a deploy.
//
// NTFS cannot rename one directory over another (a junction is a
// directory), so "create link.tmp, rename it over link" is not atomic on
// Windows: it needs a removal first, leaving an instant with no link.
// Rewriting the reparse data of the existing junction is one file-system
// operation, so that is done whenever link is a junction already; the
// tmp-then-rename path only runs for the first link, or to replace
// something that is not a junction (such as the symbolic link an earlier
// agent made). On a volume without reparse points (or under Wine 8, which
// lacks them) link is removed rather than left stale.
func Point(link, target string) error {
	if isJunction(link) && setJunction(link, target) == nil {
		return nil
	}
	tmp := link + ".tmp"
	os.Remove(tmp) // a link or an empty directory only: never contents
	if err := createJunction(tmp, target); err != nil {
		os.Remove(link)
		return nil
	}
	os.Remove(link)
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
	}
	return nil
}

// Remove deletes link (a junction: never what it names), best effort, as
// Point is.
func Remove(link string) error {
	os.Remove(link)
	return nil
}

// Target returns the directory the junction link names; errNotJunction
// when link is something else.
func Target(link string) (string, error) { return readJunction(link) }

// SyncDir flushes a directory's metadata, best effort: NTFS journals it
// anyway, and FlushFileBuffers on a directory needs write access.
func SyncDir(dir string) {
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

// Share makes dst (inside a release that has never run: a file a
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
func Share(src, dst string) error {
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
	return Copy(src, dst)
}

// ReadFile reads a file with FILE_SHARE_DELETE, so that another process
// can rename a new version over it while it is read (os.ReadFile does not
// share delete access, and the rename would fail).
func ReadFile(path string) ([]byte, error) {
	p, err := windows.UTF16PtrFromString(longPathname(path))
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return nil, fmt.Errorf("open %s: %w", path, os.ErrNotExist)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(h), path)
	defer f.Close()
	return io.ReadAll(f)
}
