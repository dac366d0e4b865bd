//go:build windows

package proc

import (
	"os"
	"strings"
)

const pathCaseInsensitive = true

// runnableExts are the extensions Windows runs without being told.
var runnableExts = []string{".exe", ".cmd", ".bat"}

// Executable finds path itself when it has a runnable extension, or path
// with one of them appended, and returns what it found.
func Executable(path string) (string, bool) {
	if hasRunnableExt(path) {
		if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
			return path, true
		}
		return "", false
	}
	for _, ext := range runnableExts {
		if fi, err := os.Stat(path + ext); err == nil && !fi.IsDir() {
			return path + ext, true
		}
	}
	return "", false
}

func hasRunnableExt(p string) bool {
	lp := strings.ToLower(p)
	for _, ext := range runnableExts {
		if strings.HasSuffix(lp, ext) {
			return true
		}
	}
	return false
}
