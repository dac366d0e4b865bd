package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/fslink"
)

func TestLockContentionWaitAndStaleTakeover(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")

	// A deploy held mid-flight owns the lock.
	holder := startAgent(t, s.spec("apply", sha), func(ev agent.Event) bool { return ev.Event == "hang" }, "FERRY_AGENT_FAULT=hang:after:lock")

	// A second deploy fails with exit 5, naming the holder. (Without
	// --lock-wait it tries once: no clock is asked, which a loaded machine
	// could make lie.)
	r := runAgent(t, s.spec("apply", sha))
	if r.code != 5 || r.result.Outcome != "locked" {
		t.Fatalf("second deploy must exit 5: %s", r)
	}
	if !strings.Contains(r.result.Error, "tester") || !strings.Contains(r.result.Error, "since") || r.result.Lock == nil || r.result.Lock.PID != holder.Process.Pid {
		t.Fatalf("the refusal must name who holds the lock and since when: %s", r)
	}
	if hint := strings.Join(r.result.Hints, "\n"); !strings.Contains(hint, "--lock-wait") || !strings.Contains(hint, "ferry unlock") {
		t.Fatalf("hint should offer --lock-wait and unlock: %q", hint)
	}

	// The holder dies (kill -9): its lock is stale and the next deploy
	// takes it over with a warning.
	holder.Process.Kill()
	holder.Wait()
	r = runAgent(t, s.spec("apply", sha))
	if r.code != 0 {
		t.Fatalf("deploy after the holder died: %s", r)
	}
	if len(r.result.Warnings) == 0 || !strings.Contains(r.result.Warnings[0], "stale lock") || !strings.Contains(r.result.Warnings[0], "is gone") {
		t.Fatalf("stale takeover must warn: %v", r.result.Warnings)
	}
}

// holdLock takes the target's deploy lock from this test process as a
// deploy would (the OS file lock, owner.json beside it) and returns its
// release.
func holdLock(t *testing.T, root string, owner agent.LockOwner) func() {
	t.Helper()
	os.MkdirAll(root, 0o755)
	release, err := fslink.Lock(filepath.Join(root, "lock.flock"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "lock"), 0o755)
	owner.FileLock = true
	b, _ := json.Marshal(owner)
	os.WriteFile(filepath.Join(root, "lock", "owner.json"), b, 0o644)
	return func() { os.RemoveAll(filepath.Join(root, "lock")); release() }
}

func TestLockWaitAndTTL(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")
	lockDir := filepath.Join(s.root, "lock")
	host, _ := os.Hostname()
	// Held by a live process of this host (this test), for 1.5 s.
	release := holdLock(t, s.root, agent.LockOwner{Who: "someone", Op: "apply", PID: os.Getpid(), Host: host, Since: time.Now().UTC(), TTL: time.Hour})
	go func() { time.Sleep(1500 * time.Millisecond); release() }()
	spec := s.spec("apply", sha)
	spec.LockWait = 60 * time.Second
	if r := runAgent(t, spec); r.code != 0 {
		t.Fatalf("--lock-wait must wait for the lock: %s", r)
	}

	// What a dead holder left (its owner.json, nobody holding the file
	// lock) is taken over with a warning, whatever its TTL says.
	os.MkdirAll(lockDir, 0o755)
	owner := agent.LockOwner{Who: "ghost", Op: "apply", PID: 1, Host: "elsewhere", Since: time.Now().Add(-3 * time.Hour).UTC(), TTL: time.Hour, FileLock: true}
	b, _ := json.Marshal(owner)
	os.WriteFile(filepath.Join(lockDir, "owner.json"), b, 0o644)
	r := runAgent(t, s.spec("apply", sha))
	if r.code != 0 || len(r.result.Warnings) == 0 || !strings.Contains(r.result.Warnings[0], "stale lock") {
		t.Fatalf("a dead holder's lock must be taken over with a warning: %s", r)
	}

	// A live holder keeps the lock, even past its TTL: the refusal says
	// so and names the process to look at; unlock refuses to break it.
	release = holdLock(t, s.root, agent.LockOwner{Who: "colleague", Op: "apply", PID: os.Getpid(), Host: host, Since: time.Now().Add(-3 * time.Hour).UTC(), TTL: time.Hour})
	r = runAgent(t, s.spec("apply", sha))
	if r.code != 5 || !strings.Contains(r.result.Error, "past its 1h0m0s TTL") || !strings.Contains(r.result.Error, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("a live lock must be honoured, saying it is past its TTL: %s", r)
	}
	if r := runAgent(t, s.spec("unlock", "")); r.code != 5 || r.result.Lock == nil || r.result.Lock.Who != "colleague" {
		t.Fatalf("unlock must not break a live holder's lock: %s", r)
	}
	// Once the holder is gone, unlock clears what it left and says whose.
	fileRelease := release
	fileRelease()
	os.MkdirAll(lockDir, 0o755)
	os.WriteFile(filepath.Join(lockDir, "owner.json"), b, 0o644)
	r = runAgent(t, s.spec("unlock", ""))
	if r.code != 0 || r.result.Lock == nil || r.result.Lock.Who != "ghost" {
		t.Fatalf("unlock: %s", r)
	}
	if _, err := os.Stat(filepath.Join(lockDir, "owner.json")); !os.IsNotExist(err) {
		t.Fatal("unlock left the lock in place")
	}
}

// TestConcurrentDeploysOneWins races two real deploys for the lock.
func TestConcurrentDeploysOneWins(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")
	enc, _ := s.spec("apply", sha).Encode()
	cmds := []*exec.Cmd{exec.Command(agentBin, "apply", "--spec-b64", enc), exec.Command(agentBin, "apply", "--spec-b64", enc)}
	for _, c := range cmds {
		c.Start()
	}
	codes := map[int]int{}
	for _, c := range cmds {
		c.Wait()
		codes[c.ProcessState.ExitCode()]++
	}
	if codes[0] < 1 || codes[0]+codes[5] != 2 {
		t.Fatalf("two concurrent deploys: want one 0 and the other 0 or 5, got %v", codes)
	}
}
