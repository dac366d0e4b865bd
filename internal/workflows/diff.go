package workflows

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// State says how a file on disk compares with what this ferry writes.
type State string

// The states of Change.
const (
	Same    State = "same"
	New     State = "new"     // absent on disk
	Changed State = "changed" // present and different
)

// Change is one file of a comparison.
type Change struct {
	Path  string
	State State
	// Diff is a unified diff from the file on disk (a/PATH, or
	// /dev/null when new) to what ferry writes (b/PATH); empty when Same.
	Diff string
}

// Drift is what re-running `ferry init` would change.
type Drift []Change

// Clean is true when every file is already what ferry writes: `ferry
// init --check` passes.
func (d Drift) Clean() bool {
	for _, c := range d {
		if c.State != Same {
			return false
		}
	}
	return true
}

// Diff is every change's diff, one after another (git's layout).
func (d Drift) Diff() string {
	var b strings.Builder
	for _, c := range d {
		b.WriteString(c.Diff)
	}
	return b.String()
}

// Compare compares files with what is under root (the repository) and
// returns one Change per file, in files' order. It changes nothing.
func Compare(root string, files []File) (Drift, error) {
	var d Drift
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d = append(d, Change{Path: f.Path, State: New, Diff: unified("/dev/null", nil, "b/"+f.Path, f.Data)})
		case err != nil:
			return nil, fail.New(exitcode.Failed, fmt.Errorf("compare %s: %w", f.Path, err))
		case bytes.Equal(normalizeEOL(old), f.Data):
			d = append(d, Change{Path: f.Path, State: Same})
		default:
			d = append(d, Change{Path: f.Path, State: Changed, Diff: unified("a/"+f.Path, normalizeEOL(old), "b/"+f.Path, f.Data)})
		}
	}
	return d, nil
}

// normalizeEOL reads a file that git checked out with CRLF (Windows,
// core.autocrlf) as the LF that ferry writes: that is not drift.
func normalizeEOL(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

func unified(oldName string, old []byte, newName string, new []byte) string {
	return string(diff.Diff(oldName, old, newName, new))
}

// Write writes files under root. A file that exists and differs is
// replaced only with force, so a person's edit is never lost silently:
// without force Write writes nothing at all and says which files differ.
// Each file is written to a temporary name and renamed into place.
func Write(root string, files []File, force bool) (Drift, error) {
	d, err := Compare(root, files)
	if err != nil {
		return nil, err
	}
	if !force {
		var changed []string
		for _, c := range d {
			if c.State == Changed {
				changed = append(changed, c.Path)
			}
		}
		if len(changed) > 0 {
			return d, fail.New(exitcode.Failed, fmt.Errorf("init: %s differ from what this ferry writes", strings.Join(changed, ", ")),
				"read the diff (ferry init prints it), then run ferry init --force to replace them, or keep your edits and leave the files as they are")
		}
	}
	for i, c := range d {
		if c.State == Same {
			continue
		}
		if err := writeAtomic(filepath.Join(root, filepath.FromSlash(c.Path)), files[i].Data); err != nil {
			return d, fail.New(exitcode.Failed, fmt.Errorf("init: write %s: %w", c.Path, err))
		}
	}
	return d, nil
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
