//go:build !windows

package proc

import "os"

const pathCaseInsensitive = false

// Executable reports whether path is a regular file someone may execute,
// and returns it.
func Executable(path string) (string, bool) {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", false
	}
	return path, true
}
