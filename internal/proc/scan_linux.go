package proc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

func killUnder(ctx context.Context, root string, since uint64, spared []int, wait time.Duration) ([]Process, error) {
	root = filepath.Clean(root)
	mine := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !mine[pid]; {
		mine[pid] = true
		fields := statFields(pid)
		if len(fields) < 2 {
			break
		}
		pid, _ = strconv.Atoi(fields[1])
	}
	sparedSID := map[string]bool{}
	for _, pid := range spared {
		if f := statFields(pid); len(f) > 3 && pid > 0 {
			sparedSID[f[3]] = true
		}
	}
	var found []Process
	eachProc(func(pid int, f []string) bool {
		if mine[pid] || len(f) < 20 || f[0] == "Z" || f[0] == "X" || sparedSID[f[3]] {
			return true
		}
		st, err := strconv.ParseUint(f[19], 10, 64)
		if err != nil || st < since {
			return true
		}
		cmdline := readCmdline(pid)
		cwd, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
		if !under(cwd, root) && !mentions(cmdline, root) {
			return true
		}
		found = append(found, Process{PID: pid, Start: st, Cmdline: strings.Join(cmdline, " ")})
		return true
	})
	for _, p := range found {
		syscall.Kill(p.PID, syscall.SIGKILL) //nolint:errcheck
	}
	if len(found) == 0 {
		return nil, nil
	}
	b := poll.Backoff{Initial: 10 * time.Millisecond, Max: 200 * time.Millisecond, Deadline: wait}
	err := poll.Until(ctx, b, func(context.Context) (bool, error) {
		for _, p := range found {
			if Alive(Handle{PID: p.PID, StartTime: p.Start}) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return found, fmt.Errorf("processes of the dead holder are still running in %s after SIGKILL: %w", root, err)
	}
	return found, nil
}

func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

func readCmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

func under(p, root string) bool {
	p = strings.TrimSuffix(p, " (deleted)")
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// mentions reports an argument that is a path under root, or holds one
// (--target=/srv/app/venvs/x).
func mentions(args []string, root string) bool {
	for _, a := range args {
		if i := strings.Index(a, root); i >= 0 {
			rest := a[i+len(root):]
			if rest == "" || rest[0] == filepath.Separator {
				return true
			}
		}
	}
	return false
}
