package fslink

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

func lockFile(path string) (func(), error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	// Not inheritable (nil security attributes): a child never holds it.
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_ALWAYS, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	var ol windows.Overlapped
	err = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		windows.CloseHandle(h) //nolint:errcheck
		return nil, ErrLocked
	}
	if err != nil {
		windows.CloseHandle(h) //nolint:errcheck
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { windows.CloseHandle(h) }, nil //nolint:errcheck
}
