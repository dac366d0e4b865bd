package proc

import (
	"context"
	"os/exec"
	"slices"
	"sync"
	"time"
)

// Children: every program ferry or ferry-agent runs for a while (git, the
// interpreter probe, python -m venv, pip, the gate tools) goes through
// Prepare, so that none outlives the process that started it, whatever
// ended that process: a signal, a cancelled context, or kill -9.
//
//   - Linux: the child leads a process group of its own (its own
//     children, ensurepip's pip for one, are in it too), dies with its
//     parent through PR_SET_PDEATHSIG, and a cancelled context kills the
//     whole group. The parent-death signal is not inherited by
//     grandchildren, so the groups of running children are recorded
//     (Tracker) where the next deploy, taking over a dead holder's lock,
//     finds and kills them (KillGroups).
//   - Windows: the first Prepare puts this process into a job object that
//     kills every process in it when its last handle closes (when this
//     process ends, however), and children inherit the membership, so
//     grandchildren are covered. The job allows breakaway: the app started
//     on purpose (Start) breaks away and lives on.

// Group identifies a child's process group for whoever must end it later:
// its leader's PID (the group's ID) and the leader's start time, which
// tells a live group from a PID that was reused.
type Group struct {
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`
	// Program is the child's program, for messages.
	Program string `json:"program,omitempty"`
}

// Tracker records the process groups of running children, and hands the
// list to save whenever it changes, so that it is on disk before the
// child does anything and while it runs.
type Tracker struct {
	mu     sync.Mutex
	groups []Group
	save   func([]Group)
}

// NewTracker returns a tracker that calls save (under its lock, so calls
// never overlap) with the running children's groups after each change.
func NewTracker(save func([]Group)) *Tracker { return &Tracker{save: save} }

func (t *Tracker) add(g Group) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groups = append(t.groups, g)
	t.save(slices.Clone(t.groups))
}

func (t *Tracker) remove(g Group) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groups = slices.DeleteFunc(t.groups, func(x Group) bool { return x == g })
	t.save(slices.Clone(t.groups))
}

type trackerKey struct{}

// WithTracker returns a context whose children (started by Run) t records.
func WithTracker(ctx context.Context, t *Tracker) context.Context {
	return context.WithValue(ctx, trackerKey{}, t)
}

// waitDelay bounds how long Wait waits for a killed child's pipes to
// close: a grandchild holding them is killed with the group anyway.
const waitDelay = 5 * time.Second

// Prepare readies cmd so that it cannot outlive this process (see above).
// Call it before Start. A command made with exec.CommandContext should
// also kill its group when the context ends: set cmd.Cancel to call
// KillGroup, as Run does (exec refuses a Cancel on a command made
// without a context, so Prepare cannot).
func Prepare(cmd *exec.Cmd) { prepare(cmd) }

// KillGroup kills cmd's process group (Windows: its process tree): what
// the child started goes with it. A group already gone is not an error.
func KillGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return killGroup(cmd)
}

// Run prepares and starts cmd, made with exec.CommandContext(ctx, …),
// records its group in ctx's Tracker while it runs, waits for it, and
// kills whatever it left running in its group. When ctx ends, the whole
// group is killed, not only the child.
func Run(ctx context.Context, cmd *exec.Cmd) error {
	Prepare(cmd)
	cmd.Cancel = func() error { return KillGroup(cmd) }
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = waitDelay
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	t, _ := ctx.Value(trackerKey{}).(*Tracker)
	g := Group{PGID: cmd.Process.Pid, Start: StartTimeOf(cmd.Process.Pid), Program: cmd.Path}
	if t != nil {
		t.add(g)
	}
	err := cmd.Wait()
	_ = KillGroup(cmd)
	if t != nil {
		t.remove(g)
	}
	return err
}

// KillGroups kills the groups that a dead process recorded and that still
// run, and waits (up to wait, or ctx) until they are gone. It returns the
// groups it found running.
func KillGroups(ctx context.Context, groups []Group, wait time.Duration) ([]Group, error) {
	return killGroups(ctx, groups, wait)
}
