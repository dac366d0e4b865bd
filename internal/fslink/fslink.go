// Package fslink replaces and links the files of a deployment root the way
// a deploy relies on: a reader, or a deploy killed at any instant, sees the
// old file or link or the new one, never half of either; and on Windows it
// does so without privileges a service account may lack (junctions and
// hard links instead of symbolic links).
//
// Point moves a link such as `current`, Share links a shared path into a
// release, WriteFile replaces a file, ReadFile reads one that another
// process may replace meanwhile. The package is standard library and
// golang.org/x/sys only: ferry-agent uses it.
package fslink

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data atomically and durably: written to
// path.tmp, flushed, renamed over path (MoveFileEx with REPLACE_EXISTING on
// Windows), then the directory is flushed, so after a crash path holds the
// old content or the new, whole. perm applies to a file WriteFile creates.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	// A tmp left by a killed writer could carry other permissions, which
	// opening it would keep.
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", filepath.Base(path), err)
	}
	SyncDir(filepath.Dir(path))
	return nil
}

// Copy copies the file src to dst, which must not exist, flushed before it
// returns. It is the last resort where a file cannot be linked, and how an
// executable is installed where a link would pin the original.
func Copy(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	return nil
}
