package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ignoreInWorkTree gives a root that lies inside a git work tree (a
// local target's .ferry/local in the app's own repository) a .gitignore
// of "*", so that `git add -A` never commits releases or venvs and `git
// status` stays clean. A root elsewhere gets none; an existing one is
// left as it is.
func ignoreInWorkTree(root string) error {
	if !inWorkTree(filepath.Dir(root)) {
		return nil
	}
	p := filepath.Join(root, ".gitignore")
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return os.WriteFile(p, []byte("# Written by ferry: a deployment root, never committed.\n*\n"), 0o644)
}

// inWorkTree: dir or an ancestor holds .git (a directory, or the file of
// a worktree or submodule).
func inWorkTree(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}
