package agent

import (
	"os"
	"path/filepath"

	"github.com/ferryhq/ferry/internal/fslink"
)

// layout names the places under a target's root (see docs/ARCHITECTURE.md).
type layout struct{ root string }

func (l layout) releases() string         { return filepath.Join(l.root, "releases") }
func (l layout) release(id string) string { return filepath.Join(l.root, "releases", id) }
func (l layout) venvs() string            { return filepath.Join(l.root, "venvs") }
func (l layout) venv(key string) string   { return filepath.Join(l.root, "venvs", key) }
func (l layout) shared() string           { return filepath.Join(l.root, "shared") }
func (l layout) logs() string             { return filepath.Join(l.root, "shared", "logs") }
func (l layout) repo() string             { return filepath.Join(l.root, "repo.git") }
func (l layout) current() string          { return filepath.Join(l.root, "current") }
func (l layout) state() string            { return filepath.Join(l.root, "state.json") }
func (l layout) lock() string             { return filepath.Join(l.root, "lock") }
func (l layout) run() string              { return filepath.Join(l.root, "run") }
func (l layout) pidFile() string          { return filepath.Join(l.root, "run", "app.pid") }
func (l layout) bin() string              { return filepath.Join(l.root, "bin") }
func (l layout) trash() string            { return filepath.Join(l.root, "trash") }
func (l layout) appLog(id string) string {
	return filepath.Join(l.root, "shared", "logs", "app-"+id+".log")
}
func (l layout) nodeModules(key string) string {
	return filepath.Join(l.root, "node_modules", key)
}
func (l layout) npmLog(id string) string {
	return filepath.Join(l.root, "shared", "logs", "npm-"+id+".log")
}
func (l layout) pipLog(id string) string {
	return filepath.Join(l.root, "shared", "logs", "pip-"+id+".log")
}

func (l layout) ensure() error {
	for _, d := range []string{l.root, l.releases(), l.venvs(), l.shared(), l.logs(), l.run()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return ignoreInWorkTree(l.root)
}

// pointCurrent makes `current` name release id ("" removes it). It follows
// state.json, which is the truth, and is repaired from it.
func (l layout) pointCurrent(id string) error {
	if id == "" {
		return fslink.Remove(l.current())
	}
	return fslink.Point(l.current(), l.release(id))
}

// currentTarget names the release `current` points at, "" for none.
func (l layout) currentTarget() string {
	t, err := fslink.Target(l.current())
	if err != nil || t == "" {
		return ""
	}
	return filepath.Base(t)
}
