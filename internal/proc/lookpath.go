package proc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned by LookPathIn for a program it cannot find.
var ErrNotFound = errors.New("executable file not found")

// LookPathIn finds name in the directories of pathList the way a shell
// with that PATH would. exec.LookPath would search ferry's own PATH, which
// is not the one a tool, a service or an app is given. A name with a
// separator is checked as it is; relative directories in pathList are
// skipped, as Go's own LookPath refuses the current directory.
func LookPathIn(name, pathList string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) || strings.ContainsRune(name, '/') {
		if p, ok := Executable(name); ok {
			return p, nil
		}
		return "", ErrNotFound
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p, ok := Executable(filepath.Join(dir, name)); ok {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// PathOf returns the PATH entry of a KEY=VALUE environment (Path on
// Windows, where names are case-insensitive).
func PathOf(env []string) string {
	path := ""
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" || (pathCaseInsensitive && strings.EqualFold(k, "PATH")) {
			path = v
		}
	}
	return path
}
