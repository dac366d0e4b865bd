package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

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

func (e *ErrLocked) Error() string {
	o := e.Owner
	if o.PID == 0 && o.Who == "" {
		return "another deploy is taking the lock right now"
	}
	s := fmt.Sprintf("another deploy holds the lock: %s (%s) on %s, pid %d, since %s (%s ago)",
		o.Who, o.Op, o.Host, o.PID, o.Since.Format(time.RFC3339), time.Since(o.Since).Round(time.Second))
	if o.RunURL != "" {
		s += ", run " + o.RunURL
	}
	return s
}

const defaultLockTTL = 2 * time.Hour

// acquireLock takes root/lock with mkdir, which is atomic on every file
// system ferry meets. A lock whose owner died on this host or whose TTL
// ran out is taken over, with a warning.
func acquireLock(ctx context.Context, dir string, me LockOwner, wait time.Duration, warn func(string)) (release func(), err error) {
	deadline := time.Now().Add(wait)
	pause := 100 * time.Millisecond
	for {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			b, _ := json.MarshalIndent(me, "", "  ")
			// No fsync: a torn owner.json after a power loss only makes the
			// lock ownerless, which is taken over once it is old.
			if err := os.WriteFile(filepath.Join(dir, "owner.json"), b, 0o644); err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("write lock owner: %w", err)
			}
			return func() { os.RemoveAll(dir) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("take lock: %w", err)
		}
		owner, rerr := readOwner(dir)
		if why := staleReason(dir, owner, rerr, me.Host); why != "" {
			warn(fmt.Sprintf("taking over a stale lock (%s)", why))
			grave := fmt.Sprintf("%s.stale-%d", dir, time.Now().UnixNano())
			if os.Rename(dir, grave) == nil {
				os.RemoveAll(grave)
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, &ErrLocked{Owner: owner}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		if pause < 2*time.Second {
			pause *= 2
		}
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
