//go:build windows

package fslink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"

	"golang.org/x/sys/windows"
)

// errJunctionUnsupported: the volume (FAT, some network file systems,
// Wine 8's emulation) cannot hold reparse points.
var errJunctionUnsupported = errors.New("this volume does not support junctions")

// createJunction makes link, which must not exist, a junction to the
// directory target.
func createJunction(link, target string) error {
	if err := os.Mkdir(link, 0o755); err != nil {
		return fmt.Errorf("create junction %s: %w", link, err)
	}
	if err := setJunction(link, target); err != nil {
		os.Remove(link)
		return err
	}
	return nil
}

// setJunction stores target in link's reparse data. link must be an empty
// directory or a junction already: in the second case the file system
// replaces the old target with the new one in a single operation, so a
// reader resolves either the old target or the new one, never nothing.
func setJunction(link, target string) error {
	abs, err := filepath.Abs(target)
	if err != nil {
		return fmt.Errorf("junction target %s: %w", target, err)
	}
	data, err := junctionData(abs)
	if err != nil {
		return err
	}
	h, err := openReparsePoint(link, windows.GENERIC_WRITE)
	if err != nil {
		return fmt.Errorf("open %s: %w", link, err)
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	var n uint32
	err = windows.DeviceIoControl(h, windows.FSCTL_SET_REPARSE_POINT, &data[0], uint32(len(data)), nil, 0, &n, nil)
	if err != nil {
		if unsupported(err) {
			return fmt.Errorf("junction %s: %w (%v)", link, errJunctionUnsupported, err)
		}
		return fmt.Errorf("junction %s -> %s: %w", link, abs, err)
	}
	return nil
}

// readJunction returns the target a junction names; errNotJunction when
// link is something else (a plain directory, a symbolic link).
func readJunction(link string) (string, error) {
	h, err := openReparsePoint(link, windows.FILE_READ_ATTRIBUTES)
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h) //nolint:errcheck
	buf := make([]byte, windows.MAXIMUM_REPARSE_DATA_BUFFER_SIZE)
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_GET_REPARSE_POINT, nil, 0, &buf[0], uint32(len(buf)), &n, nil); err != nil {
		if errors.Is(err, windows.ERROR_NOT_A_REPARSE_POINT) || unsupported(err) {
			return "", errNotJunction
		}
		return "", fmt.Errorf("read junction %s: %w", link, err)
	}
	return parseJunctionData(buf[:n])
}

// isJunction reports whether path itself (not what it points to) is a
// junction.
func isJunction(path string) bool {
	_, err := readJunction(path)
	return err == nil
}

// openReparsePoint opens the directory or link itself, never its target.
func openReparsePoint(path string, access uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(longPathname(path))
	if err != nil {
		return 0, err
	}
	return windows.CreateFile(p, access,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
}

func unsupported(err error) bool {
	return errors.Is(err, windows.ERROR_NOT_SUPPORTED) || errors.Is(err, windows.ERROR_INVALID_FUNCTION)
}

// longPathname gives an absolute path past MAX_PATH the \\?\ prefix that
// lifts the limit for calls made directly to the Windows API (the os
// package does this by itself).
func longPathname(path string) string {
	if len(utf16.Encode([]rune(path))) < windows.MAX_PATH-12 || strings.HasPrefix(path, `\\`) {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return `\\?\` + abs
}
