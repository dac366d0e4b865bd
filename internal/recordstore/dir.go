package recordstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// LocalDir is where a local environment's records live: <root>/records.
func LocalDir(root string) string { return filepath.Join(root, "records") }

// NewDir returns the store of the records in dir (see LocalDir); the
// directory is made on the first Append.
func NewDir(dir string) *Store { return &Store{b: dirBackend(dir)} }

type dirBackend string

func (d dirBackend) location() string { return string(d) }

func (d dirBackend) names(_ context.Context, after string) ([]string, error) {
	ents, err := os.ReadDir(string(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); n > after && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (d dirBackend) get(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), name))
}

// create writes the record to a temporary file, flushes it, and links
// it under its name: link(2) (CreateHardLink on Windows) fails when the
// name exists, so exactly one writer gets each number, and the name
// appears only with the complete record behind it — a writer killed
// halfway leaves a temporary file (".tmp-*", ignored), never a torn
// record.
func (d dirBackend) create(_ context.Context, name string, data []byte) (err error) {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(string(d), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, filepath.Join(string(d), name)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", name, errExists)
		}
		return err
	}
	return syncDir(string(d))
}

// syncDir makes the new name durable. Windows cannot open a directory
// for flushing; NTFS journals the link itself.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
