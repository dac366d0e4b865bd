package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockNeverTwoHolders races eight goroutines through the real acquire
// path, a hundred rounds, each against the lock of a dead holder (a PID
// that does not run, its lock directory left behind): at most one may
// hold the lock at a time. The lock it replaced (mkdir, then rename a
// stale lock away) let two through about one round in seven: a racer
// renamed away the lock another had just taken.
func TestLockNeverTwoHolders(t *testing.T) {
	host, _ := os.Hostname()
	dir := filepath.Join(t.TempDir(), "lock")
	var holders, worst atomic.Int32
	for round := 0; round < 100; round++ {
		os.MkdirAll(dir, 0o755)
		b, _ := json.Marshal(LockOwner{Who: "dead", Op: "apply", PID: 999999, Host: host, Since: time.Now().UTC(), TTL: time.Hour})
		os.WriteFile(filepath.Join(dir, "owner.json"), b, 0o644)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var releases []func()
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				me := LockOwner{Who: "racer", Op: "apply", PID: os.Getpid(), Start: selfStart(), Host: host, Since: time.Now().UTC(), TTL: time.Hour}
				rel, err := acquireLock(context.Background(), dir, me, 0, func(string) {}, nil)
				if err != nil {
					return
				}
				n := holders.Add(1)
				if n > worst.Load() {
					worst.Store(n)
				}
				time.Sleep(time.Millisecond)
				mu.Lock()
				releases = append(releases, rel)
				mu.Unlock()
			}()
		}
		wg.Wait()
		holders.Store(0)
		for _, r := range releases {
			r()
		}
	}
	if worst.Load() > 1 {
		t.Fatalf("%d holders at once", worst.Load())
	}
}
