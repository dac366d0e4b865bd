package fslink

import "errors"

// ErrLocked reports that another process holds the file lock.
var ErrLocked = errors.New("locked by another process")

// Lock takes an exclusive OS lock on the file at path (created when
// missing), without waiting: flock(2) on Linux, LockFileEx on Windows.
// The operating system releases it when the holder ends, however it
// ends, so a dead holder never leaves a lock that must be judged stale:
// it is simply free. The file itself must never be removed: a lock on a
// removed file and one on its successor would not exclude each other.
// It returns ErrLocked when another open file holds the lock, and the
// release otherwise.
func Lock(path string) (release func(), err error) { return lockFile(path) }
