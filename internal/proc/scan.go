package proc

import (
	"context"
	"time"
)

// Process is a running process found by KillUnder.
type Process struct {
	PID     int    `json:"pid"`
	Start   uint64 `json:"start"`
	Cmdline string `json:"cmdline"`
}

// KillUnder kills the processes still working in root on behalf of a
// dead holder of its lock: those (not this one, nor its ancestors) that
// started at or after since (a StartTimeOf stamp: the holder's own start,
// so nothing older, such as a person's shell, can match), whose working
// directory or command line names a path under root, and that are not in
// the session of any of the spared PIDs (the app started on purpose leads
// its own). It waits (up to wait, or ctx) until they are gone and returns
// what it found. Only Linux can look (through /proc); elsewhere it finds
// nothing, and Windows relies on its job object instead.
func KillUnder(ctx context.Context, root string, since uint64, spared []int, wait time.Duration) ([]Process, error) {
	return killUnder(ctx, root, since, spared, wait)
}
