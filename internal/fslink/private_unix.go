//go:build !windows

package fslink

import "os"

// restrict makes sure of 0600 (0700 for a directory) even over one an
// older writer made.
func restrict(path string, dir bool) error {
	if dir {
		return os.Chmod(path, 0o700)
	}
	return os.Chmod(path, 0o600)
}
