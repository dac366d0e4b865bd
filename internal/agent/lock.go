package agent

import (
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
	return s
}

const defaultLockTTL = 2 * time.Hour

// lockPoll is how often a wait for the lock (--lock-wait) looks again.
var lockPoll = poll.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Factor: 2}

// acquireLock takes root/lock with mkdir, which is atomic on every file
// system ferry meets. A lock whose owner died on this host or whose TTL
// ran out is taken over, with a warning. A held lock is waited for up to
// wait; zero fails at once. It returns the release of the lock.
func acquireLock(ctx context.Context, dir string, me LockOwner, wait time.Duration, warn func(string)) (func(), error) {
	var owner LockOwner
	try := func(context.Context) (bool, error) {
		for {
			err := os.Mkdir(dir, 0o755)
			if err == nil {
				b, _ := json.MarshalIndent(me, "", "  ")
				// No fsync: a torn owner.json after a power loss only makes
				// the lock ownerless, which is taken over once it is old.
				if err := os.WriteFile(filepath.Join(dir, "owner.json"), b, 0o644); err != nil {
					os.RemoveAll(dir)
					return false, fmt.Errorf("write lock owner: %w", err)
				}
				return true, nil
			}
			if !errors.Is(err, os.ErrExist) {
				return false, fmt.Errorf("take lock: %w", err)
			}
			var rerr error
			owner, rerr = readOwner(dir)
			why := staleReason(dir, owner, rerr, me.Host)
			if why == "" {
				return false, nil
			}
			warn(fmt.Sprintf("taking over a stale lock (%s)", why))
			grave := fmt.Sprintf("%s.stale-%d", dir, time.Now().UnixNano())
			if os.Rename(dir, grave) == nil {
				os.RemoveAll(grave)
			}
		}
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
		return func() { os.RemoveAll(dir) }, nil
	case errors.Is(err, poll.ErrDeadline):
		return nil, &ErrLocked{Owner: owner}
	default:
		return nil, err
	}
}

func readOwner(dir string) (LockOwner, error) {
	var o LockOwner
	b, err := os.ReadFile(filepath.Join(dir, "owner.json"))
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(b, &o)
}

// ownerGrace is how long a lock may lack owner.json: its maker writes it
// right after mkdir, so a young ownerless lock is being made, not dead.
const ownerGrace = 30 * time.Second

func staleReason(dir string, o LockOwner, readErr error, host string) string {
	if readErr != nil {
		st, err := os.Stat(dir)
		if err != nil || time.Since(st.ModTime()) < ownerGrace {
			return ""
		}
		return "it names no owner and is " + time.Since(st.ModTime()).Round(time.Second).String() + " old"
	}
	ttl := o.TTL
	if ttl <= 0 {
		ttl = defaultLockTTL
	}
	if time.Since(o.Since) > ttl {
		return fmt.Sprintf("held by %s since %s, past its %s TTL", o.Who, o.Since.Format(time.RFC3339), ttl)
	}
	if o.Host == host && !proc.Alive(proc.Handle{PID: o.PID, StartTime: o.Start}) {
		return fmt.Sprintf("its owner %s, pid %d on this host, is gone", o.Who, o.PID)
	}
	return ""
}

// Unlock removes the lock whoever holds it, for a person who knows the
// holder is gone; it returns the owner it removed.
func unlock(dir string) (*LockOwner, error) {
	o, err := readOwner(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
			return nil, nil
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("remove lock: %w", err)
	}
	return &o, nil
}

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
	release, err := acquireLock(ctx, o.l.lock(), me, o.spec.LockWait, o.warn)
	var held *ErrLocked
	if errors.As(err, &held) {
		o.res.Lock = &held.Owner
		return fail.New(exitcode.Locked, err, "wait for it to finish, retry with --lock-wait 10m, or if that deploy is dead run: ferry unlock "+o.spec.Environment)
	}
	if err != nil {
		return fail.Hint(err, writableHint)
	}
	o.unlock = release
	st, err := loadState(o.l.state())
	if err != nil {
		return fail.Hint(err, writableHint)
	}
	o.state = st
	o.state.App = o.spec.App
	if err := o.recover(); err != nil {
		return fail.Hint(err, writableHint)
	}
	o.from = o.state.Current
	return nil
}

// recover repairs what a killed operation left: partial directories go,
// interrupted releases are marked failed, and `current` is made to agree
// with state.json, which is the truth.
func (o *op) recover() error {
	entries, _ := os.ReadDir(o.l.releases())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") || strings.HasPrefix(e.Name(), ".download-") {
			os.RemoveAll(o.l.release(e.Name()))
		}
	}
	changed := false
	for i := range o.state.Releases {
		r := &o.state.Releases[i]
		if r.Status == StatusBuilding {
			r.Status, r.Reason, changed = StatusFailed, "interrupted: the deploy was stopped while building", true
			o.warn(fmt.Sprintf("release %s was left half built by an interrupted deploy; marked failed", r.ID))
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
	}
	return nil
}
