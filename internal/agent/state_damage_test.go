package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// damages are the ways a state file is found broken: cut by a full disk
// or a crash of the file system, emptied, overwritten, zeroed, or edited
// by hand into the wrong shape.
var damages = map[string]func(good []byte) []byte{
	"truncated":   func(b []byte) []byte { return b[:len(b)/2] },
	"empty":       func([]byte) []byte { return nil },
	"garbage":     func([]byte) []byte { return []byte("this is not json\n") },
	"nul bytes":   func(b []byte) []byte { return make([]byte, len(b)) },
	"array":       func([]byte) []byte { return []byte(`[{"version":1}]`) },
	"wrong types": func([]byte) []byte { return []byte(`{"version":"1","current":7,"releases":{"a":1}}`) },
	"null":        func([]byte) []byte { return []byte("null") },
	"dangling":    func([]byte) []byte { return []byte(`{"version":1,"current":"nope","releases":[]}`) },
}

// TestDamagedStateRecovers damages state.json every way above: with its
// last good copy beside it the state is restored from the copy; with both
// damaged it is rebuilt from releases/*/REVISION and the current link.
// Either way status answers, the next deploy succeeds, and each says what
// happened; op repair does the same on purpose and reports it.
func TestDamagedStateRecovers(t *testing.T) {
	s := newSite(t)
	sha1 := s.git("rev-parse", "HEAD")
	if r := runAgent(t, s.spec("apply", sha1)); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	sha2 := s.change(false)
	if r := runAgent(t, s.spec("apply", sha2)); r.code != 0 {
		t.Fatalf("second deploy: %s", r)
	}
	statePath := filepath.Join(s.root, "state.json")
	goodPath := filepath.Join(s.root, "state.last-good.json")
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			good, err := os.ReadFile(statePath)
			if err != nil {
				t.Fatal(err)
			}
			want := s.state()

			// state.json damaged, its copy whole: restored.
			os.WriteFile(statePath, damage(good), 0o644)
			st := runAgent(t, s.spec("status", ""))
			if st.code != 0 || st.result.Status == nil || st.result.Status.Current == nil || st.result.Status.Current.ID != want.Current {
				t.Fatalf("status on a damaged state.json must answer from the good copy: %s", st)
			}
			if !strings.Contains(strings.Join(st.result.Warnings, "\n"), "state.json was damaged") {
				t.Fatalf("status must say state.json is damaged: %s", st)
			}
			r := runAgent(t, s.spec("apply", sha2))
			if r.code != 0 || !strings.Contains(strings.Join(r.result.Warnings, "\n"), "restored from its last good copy") {
				t.Fatalf("deploy on a damaged state.json with a good copy: %s", r)
			}
			if got := s.state(); len(got.Releases) != len(want.Releases)+1 {
				t.Fatalf("the restored state lost releases: %d, want %d", len(got.Releases), len(want.Releases)+1)
			}
			if kept, _ := filepath.Glob(statePath + ".damaged-*"); len(kept) == 0 {
				t.Fatal("the damaged state.json must be kept for inspection")
			}

			// Both damaged: rebuilt from disk, by op repair.
			good, _ = os.ReadFile(statePath)
			current := s.state().Current
			os.WriteFile(statePath, damage(good), 0o644)
			os.WriteFile(goodPath, damage(good), 0o644)
			rep := runAgent(t, s.spec("repair", ""))
			if rep.code != 0 || rep.result.Repair == nil || rep.result.Repair.State != "rebuilt" || rep.result.Repair.Current != current {
				t.Fatalf("repair of a state with no good copy must rebuild it: %s", rep)
			}
			if rep.result.Repair.Releases < 2 || rep.result.Repair.Reason == "" {
				t.Fatalf("repair must say what it found: %s", rep)
			}
			rebuilt := s.state()
			if rebuilt.Current != current || s.release(current).SHA != sha2 || s.release(current).Venv == "" {
				t.Fatalf("rebuilt state: current %s (want %s), %+v", rebuilt.Current, current, s.release(current))
			}
			if r := runAgent(t, s.spec("repair", "")); r.code != 0 || r.result.Repair.State != "ok" {
				t.Fatalf("a second repair finds nothing wrong: %s", r)
			}
			// The next deploy on the rebuilt state succeeds.
			if r := runAgent(t, s.spec("apply", sha2)); r.code != 0 || s.health() != sha2 {
				t.Fatalf("deploy after the rebuild: %s", r)
			}
		})
	}
}

// TestLockStepFailureReleasesLock makes the lock step fail after it took
// the lock (state.json unreadable, the current link impossible to
// repair): the next run finds the lock free, with no stale-lock warning.
func TestLockStepFailureReleasesLock(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")
	if r := runAgent(t, s.spec("apply", sha)); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	breakers := map[string]func() func(){
		"state.json is a directory": func() func() {
			p := filepath.Join(s.root, "state.json")
			b, _ := os.ReadFile(p)
			os.Remove(p)
			os.MkdirAll(filepath.Join(p, "x"), 0o755)
			return func() { os.RemoveAll(p); os.WriteFile(p, b, 0o644) }
		},
		"current cannot be repaired": func() func() {
			p := filepath.Join(s.root, "current")
			os.Remove(p)
			os.MkdirAll(filepath.Join(p, "x"), 0o755)
			return func() { os.RemoveAll(p) }
		},
	}
	for name, breakIt := range breakers {
		t.Run(name, func(t *testing.T) {
			undo := breakIt()
			r := runAgent(t, s.spec("apply", sha))
			undo()
			if r.code != 1 || r.result.Steps[0].Name != agent.StepLock || r.result.Steps[0].Status != agent.StepFailed {
				t.Fatalf("the lock step must fail: %s", r)
			}
			if _, err := os.Stat(filepath.Join(s.root, "lock", "owner.json")); !os.IsNotExist(err) {
				t.Fatalf("a failed lock step left the lock: %v", err)
			}
			next := runAgent(t, s.spec("apply", sha))
			if next.code != 0 {
				t.Fatalf("deploy after the failed lock step: %s", next)
			}
			for _, w := range next.result.Warnings {
				if strings.Contains(w, "lock") {
					t.Fatalf("the failed lock step must have released its lock: %q", w)
				}
			}
		})
	}
}
