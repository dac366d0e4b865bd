//go:build linux

package winetest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ServerHolds reports whether this prefix's wineserver holds a descriptor
// of the same file or pipe as f. Wine keeps one Unix descriptor per open
// Windows file object in the server, for as long as any Windows process
// holds a handle to it; so after the process that owned f's handle exited,
// a true answer means some other Windows process inherited (or was given) a
// handle to it. Each Wine process's own Unix stdio does not count here.
func (w *Wine) ServerHolds(f *os.File) (bool, error) {
	var want syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &want); err != nil {
		return false, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	pid, err := w.serverPID()
	if err != nil {
		return false, err
	}
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false, fmt.Errorf("wineserver descriptors: %w", err)
	}
	for _, fd := range fds {
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join(fdDir, fd.Name()), &st) != nil {
			continue
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			return true, nil
		}
	}
	return false, nil
}

// serverPID finds the wineserver whose environment names this prefix.
func (w *Wine) serverPID() (int, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("list processes: %w", err)
	}
	want := []byte("WINEPREFIX=" + w.Prefix + "\x00")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err != nil || !strings.HasPrefix(filepath.Base(exe), "wineserver") {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", p.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no wineserver runs for %s", w.Prefix)
}
