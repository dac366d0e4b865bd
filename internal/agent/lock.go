package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// LockOwner says who holds a target's deploy lock, so that whoever is
// refused knows whom to ask.
type LockOwner struct {
	Who    string        `json:"who"`
	RunURL string        `json:"run_url,omitempty"`
	SHA    string        `json:"sha,omitempty"`
	Op     string        `json:"op"`
	PID    int           `json:"pid"`
	Start  uint64        `json:"pid_start,omitempty"`
	Host   string        `json:"host"`
	Since  time.Time     `json:"since"`
	TTL    time.Duration `json:"ttl"`
	// FileLock says the holder holds the OS file lock too (every agent
	// since it came): a lock directory without it is an older agent's.
	FileLock bool `json:"file_lock,omitempty"`
}

// ErrLocked reports a lock held by a live deploy.
type ErrLocked struct{ Owner LockOwner }

// Error reads after the lock step's name: "lock: held by another deploy: …".
func (e *ErrLocked) Error() string {
	o := e.Owner
	if o.PID == 0 && o.Who == "" {
		return "another deploy is taking it right now"
	}
	s := fmt.Sprintf("held by another deploy: %s (%s) on %s, pid %d, since %s (%s ago)",
		o.Who, o.Op, o.Host, o.PID, o.Since.Format(time.RFC3339), time.Since(o.Since).Round(time.Second))
	if o.RunURL != "" {
		s += ", run " + o.RunURL
	}
	if o.TTL > 0 && time.Since(o.Since) > o.TTL {
		s += fmt.Sprintf("; it is past its %s TTL and may be hung: if so, stop pid %d on %s and the lock is free", o.TTL, o.PID, o.Host)
	}
	return s
}

const defaultLockTTL = 2 * time.Hour

// lockPoll is how often a wait for the lock (--lock-wait) looks again.
var lockPoll = poll.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Factor: 2}

// The lock is an OS file lock on root/lock.flock (flock on Linux,
// LockFileEx on Windows), taken without waiting. The OS releases it when
// its holder ends, however it ends, so taking it and finding a dead
// holder's leftovers are one atomic step: there is no stale lock to judge
// and take over, and no window in which two deploys both decide to
// (renaming a lock directory away could rename a racer's fresh lock).
// root/lock/ holds owner.json (who holds it, for the refusal and status)
// and children.json (the process groups of the holder's running
// children): a lock/ directory found by whoever gets the file lock was
// left by a holder that died, whose children are killed before anything
// else happens.
//
// TTL: a holder that is alive keeps the lock, even past its TTL; the
// refusal says it is past it, so a person can look at that process (a
// hung deploy is ended with kill, after which the lock is free). Taking a
// lock from a live process would let two deploys work in one root.

// flockPath is the file whose OS lock is the deploy lock. It is never
// removed (see fslink.Lock).
func flockPath(dir string) string { return dir + ".flock" }

// acquireLock takes the deploy lock whose owner directory is dir. A held
// lock is waited for up to wait; zero fails at once. When the previous
// holder died holding it, takeover is called with its owner record and
// recorded children before the lock is made this operation's, with a
// warning. It returns the release of the lock.
func acquireLock(ctx context.Context, dir string, me LockOwner, wait time.Duration, warn func(string), takeover func(prev LockOwner, children []proc.Group) error) (func(), error) {
	var owner LockOwner
	var release func()
	try := func(context.Context) (bool, error) {
		unlockFile, err := fslink.Lock(flockPath(dir))
		if errors.Is(err, fslink.ErrLocked) {
			owner, _ = readOwner(dir)
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("take lock: %w", err)
		}
		prev, perr := readOwner(dir)
		children := readChildren(dir)
		if perr == nil || len(children) > 0 {
			if perr == nil && legacyHolder(prev, me.Host) {
				// An agent from before the file lock (mkdir only) holds it.
				unlockFile()
				owner = prev
				return false, nil
			}
			why := "it names no owner"
			if perr == nil {
				why = fmt.Sprintf("its owner %s, pid %d on this host, is gone", prev.Who, prev.PID)
			}
			warn(fmt.Sprintf("taking over a stale lock (%s)", why))
			if takeover != nil {
				if err := takeover(prev, children); err != nil {
					unlockFile()
					return false, err
				}
			}
			os.Remove(childrenFile(dir))
		}
		// The directory may outlive a release (its removal is best
		// effort): what it holds, not that it exists, says who holds it.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			unlockFile()
			return false, fmt.Errorf("take lock: %w", err)
		}
		me.FileLock = true
		b, _ := json.MarshalIndent(me, "", "  ")
		// No fsync: after a power loss nothing holds the file lock, and a
		// torn owner.json only makes the leftover nameless.
		if err := os.WriteFile(filepath.Join(dir, "owner.json"), b, 0o644); err != nil {
			clearLockDir(dir)
			unlockFile()
			return false, fmt.Errorf("write lock owner: %w", err)
		}
		release = func() {
			clearLockDir(dir)
			unlockFile()
		}
		return true, nil
	}
	var err error
	if wait <= 0 {
		var taken bool
		if taken, err = try(ctx); err == nil && !taken {
			err = poll.ErrDeadline
		}
	} else {
		b := lockPoll
		b.Deadline = wait
		err = poll.Until(ctx, b, try)
	}
	switch {
	case err == nil:
		return release, nil
	case errors.Is(err, poll.ErrDeadline):
		return nil, &ErrLocked{Owner: owner}
	default:
		return nil, err
	}
}

// clearLockDir removes what a holder wrote, then the directory: file by
// file, because a recursive removal needs calls Wine does not have, and
// only the files matter (see acquireLock).
func clearLockDir(dir string) {
	for _, f := range []string{childrenFile(dir), childrenFile(dir) + ".tmp", filepath.Join(dir, "owner.json")} {
		os.Remove(f)
	}
	os.Remove(dir)
}

// legacyHolder reports a lock directory made by an agent that predates
// the file lock and still runs on this host within its TTL: it holds the
// lock without the file lock, and is honoured.
func legacyHolder(o LockOwner, host string) bool {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = defaultLockTTL
	}
	return !o.FileLock && o.Host == host && time.Since(o.Since) < ttl && proc.Alive(proc.Handle{PID: o.PID, StartTime: o.Start})
}

func readOwner(dir string) (LockOwner, error) {
	var o LockOwner
	b, err := os.ReadFile(filepath.Join(dir, "owner.json"))
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(b, &o)
}

// childrenFile records the process groups of the holder's running
// children (see proc.Tracker).
func childrenFile(dir string) string { return filepath.Join(dir, "children.json") }

func readChildren(dir string) []proc.Group {
	var gs []proc.Group
	b, err := os.ReadFile(childrenFile(dir))
	if err == nil {
		json.Unmarshal(b, &gs) //nolint:errcheck
	}
	return gs
}

// writeChildren replaces children.json. No fsync: a power loss ends the
// children too.
func writeChildren(dir string, gs []proc.Group) {
	b, _ := json.Marshal(gs)
	tmp := childrenFile(dir) + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, childrenFile(dir)) //nolint:errcheck
	}
}

// lockHeld reports whether a live process holds the deploy lock, without
// taking it (which could make a racing deploy fail): the owner it names
// runs on this host.
func lockHeld(o LockOwner, host string) bool {
	return o.Host == host && proc.Alive(proc.Handle{PID: o.PID, StartTime: o.Start})
}

// Unlock removes what a dead holder left of the lock, for a person who
// knows it is gone; it returns the owner it removed. A holder that still
// runs keeps the lock: it must be stopped first.
func unlock(dir, host string) (*LockOwner, error) {
	o, err := readOwner(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
			return nil, nil
		}
	}
	unlockFile, lerr := fslink.Lock(flockPath(dir))
	if errors.Is(lerr, fslink.ErrLocked) {
		return &o, fail.Hint(fmt.Errorf("the lock is held by a running deploy: %s (%s), pid %d on %s", o.Who, o.Op, o.PID, o.Host),
			fmt.Sprintf("wait for it to end; if it is hung, stop it (kill %d on %s) and the lock is free", o.PID, o.Host))
	}
	if lerr == nil {
		defer unlockFile()
	}
	clearLockDir(dir)
	if _, err := os.Stat(filepath.Join(dir, "owner.json")); err == nil {
		return nil, errors.New("remove lock: owner.json is still there")
	}
	return &o, nil
}

// killLeftovers ends what a dead holder of the lock left working in the
// root: the process groups of its children it recorded (pip, say, whose
// parent-death signal does not reach it), then (Linux) any process started
// since that holder whose working directory or arguments are under the
// root, except the app the state names. The lock is not taken until they
// are gone: they would write into the release or venv this operation makes.
func (o *op) killLeftovers(prev LockOwner, children []proc.Group) error {
	ctx := context.Background()
	found, err := proc.KillGroups(ctx, children, leftoverWait)
	for _, g := range found {
		o.warn(fmt.Sprintf("killed %s (process group %d), left running by the dead deploy", filepath.Base(g.Program), g.PGID))
	}
	if err != nil {
		return err
	}
	if prev.Start == 0 || prev.Host != o.host {
		return nil
	}
	var spared []int
	if h, _ := o.sup.Current(ctx); h.PID != 0 {
		spared = append(spared, h.PID)
	}
	procs, err := proc.KillUnder(ctx, o.l.root, prev.Start, spared, leftoverWait)
	for _, p := range procs {
		o.warn(fmt.Sprintf("killed pid %d (%s), left working in %s by the dead deploy", p.PID, truncate(p.Cmdline, 120), o.l.root))
	}
	return err
}

// leftoverWait bounds the wait for killed leftovers to be gone: SIGKILL
// ends a process at once unless it is stuck in the kernel.
const leftoverWait = 30 * time.Second

// writableHint is the advice for a lock step that failed on the file
// system rather than on another deploy.
const writableHint = "check that the deployment root is writable"

// takeLock is the first step of every operation that changes a target: it
// takes the lock for the rest of the operation, loads state.json and
// repairs what a killed operation left.
func takeLock(ctx context.Context, o *op) error {
	if err := o.l.ensure(); err != nil {
		return fail.Hint(fmt.Errorf("prepare %s: %w", o.l.root, err), writableHint)
	}
	me := LockOwner{Who: o.spec.Deployer, RunURL: o.spec.RunURL, SHA: o.spec.SHA, Op: o.spec.Op, PID: os.Getpid(), Host: o.host, Since: time.Now().UTC(), TTL: o.spec.LockTTL}
	if me.TTL == 0 {
		me.TTL = defaultLockTTL
	}
	me.Start = selfStart()
	release, err := acquireLock(ctx, o.l.lock(), me, o.spec.LockWait, o.warn, o.killLeftovers)
	var held *ErrLocked
	if errors.As(err, &held) {
		o.res.Lock = &held.Owner
		return fail.New(exitcode.Locked, err, "wait for it to finish, retry with --lock-wait 10m, or if that deploy is dead run: ferry unlock "+o.spec.Environment)
	}
	if err != nil {
		return fail.Hint(err, writableHint)
	}
	// From here on, every child this operation runs (git, venv, pip) is
	// recorded where a taker-over finds it if this process dies.
	lockDir := o.l.lock()
	o.tracker = proc.NewTracker(func(gs []proc.Group) { writeChildren(lockDir, gs) })
	if err := o.loadAndRecover(); err != nil {
		// Every error after the lock was taken gives it back: the next
		// run must not find a lock, let alone a "stale" one.
		release()
		o.tracker = nil
		return err
	}
	o.unlock = release
	o.from = o.state.Current
	return nil
}

// loadAndRecover loads state.json under the lock, replacing a damaged one
// (see loadState; the damaged file is kept beside it, renamed), then
// repairs what a killed operation left.
func (o *op) loadAndRecover() error {
	st, ld, err := loadState(o.l)
	if err != nil {
		return fail.Hint(err, writableHint)
	}
	o.state = st
	if o.state.App == "" {
		o.state.App = o.spec.App
	}
	if ld.how != "" {
		kept := ""
		if _, err := os.Stat(o.l.state()); err == nil {
			kept = fmt.Sprintf("%s.damaged-%s", o.l.state(), time.Now().UTC().Format("20060102T150405Z"))
			if err := os.Rename(o.l.state(), kept); err != nil {
				kept = ""
			}
		}
		msg := ld.message(o.l, kept)
		o.warn(msg)
		o.repair = &RepairReport{State: ld.how, Reason: ld.why, Damaged: kept}
		if err := o.saveState(); err != nil {
			return fail.Hint(err, writableHint)
		}
	}
	if err := o.migrateSecrets(); err != nil {
		return fail.Hint(err, writableHint)
	}
	if err := o.recover(); err != nil {
		return fail.Hint(err, writableHint)
	}
	return nil
}

// migrateSecrets moves the values an older agent kept in state.json (and
// health URLs with credentials) into each release's secrets file.
func (o *op) migrateSecrets() error {
	changed := false
	for i := range o.state.Releases {
		r := &o.state.Releases[i]
		if r.Run == nil || (len(r.Run.LegacyVars) == 0 && redactURL(r.Run.Health.URL) == r.Run.Health.URL) {
			continue
		}
		full := *r.Run
		full.Vars = r.Run.LegacyVars
		full.LegacyVars = nil
		pub, sec := sealRun(&full)
		if err := o.l.writeSecrets(r.ID, sec); err != nil {
			return err
		}
		r.Run = pub
		changed = true
	}
	if !changed {
		return nil
	}
	o.repaired("moved variable values and URL credentials out of state.json into secrets/")
	return o.saveState()
}

// recover repairs what a killed operation left: partial directories go,
// interrupted releases are marked failed (building) or bad (starting:
// never proven healthy), and `current` is made to agree with state.json,
// which is the truth.
func (o *op) recover() error {
	entries, _ := os.ReadDir(o.l.releases())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") || strings.HasPrefix(e.Name(), ".download-") {
			os.RemoveAll(o.l.release(e.Name()))
			o.repaired("removed the partial directory releases/" + e.Name())
		}
	}
	changed := false
	for i := range o.state.Releases {
		r := &o.state.Releases[i]
		switch r.Status {
		case StatusBuilding:
			r.Status, r.Reason, changed = StatusFailed, "interrupted: the deploy was stopped while building", true
			r.Finished = time.Now().UTC()
			o.warn(fmt.Sprintf("release %s was left half built by an interrupted deploy; marked failed", r.ID))
			o.repaired("marked " + r.ID + " failed: interrupted while building")
		case StatusStarting:
			r.Status, r.Reason, changed = StatusBad, "interrupted: the deploy was stopped between its start and its health check", true
			r.Finished = time.Now().UTC()
			o.warn(fmt.Sprintf("release %s was started by an interrupted deploy and never proven healthy; marked bad", r.ID))
			o.repaired("marked " + r.ID + " bad: interrupted between start and health")
		}
	}
	if changed {
		if err := o.saveState(); err != nil {
			return err
		}
	}
	if o.l.currentTarget() != o.state.Current {
		if err := o.l.pointCurrent(o.state.Current); err != nil {
			return fmt.Errorf("repair current link: %w", err)
		}
		o.repaired("pointed the current link at " + cmp.Or(o.state.Current, "nothing"))
	}
	return nil
}
