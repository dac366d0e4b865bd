package proc

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// setParentDeathSignal has the kernel kill the child when the thread that
// started it dies (PR_SET_PDEATHSIG). Go's runtime does not end its
// threads while the program runs, so in effect: when this process dies.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// groupAlive reports whether some process that is not a zombie is in
// process group pgid. Zombies do not count: in a container whose first
// process does not reap, an orphan killed stays one forever.
func groupAlive(pgid int) bool {
	found := false
	eachProc(func(pid int, stat []string) bool {
		if len(stat) > 2 && stat[2] == strconv.Itoa(pgid) && stat[0] != "Z" && stat[0] != "X" {
			found = true
			return false
		}
		return true
	})
	return found
}

// eachProc calls fn with each process's PID and the fields of its
// /proc/PID/stat after the command name (fields[0] is the state) until
// fn returns false.
func eachProc(fn func(pid int, fields []string) bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		var fields []string
		for _, f := range bytes.Fields(b[i+1:]) {
			fields = append(fields, string(f))
		}
		if !fn(pid, fields) {
			return
		}
	}
}
