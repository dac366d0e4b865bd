//go:build !windows

package agent

import "syscall"

// freeDisk is the space an unprivileged user may still write under dir.
func freeDisk(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// platformChecks are the Windows-only checks; none elsewhere.
func platformChecks() []Check { return nil }
