package agent_test

import (
	"os"
	"path/filepath"
	"testing"
)

// TestKillAtEveryStep kills -9 the agent at every step boundary (and
// between saving the state and moving the link) and checks the invariant:
// `current` names a complete release, state.json is whole, and the next
// deploy succeeds (taking over the dead deploy's lock).
func TestKillAtEveryStep(t *testing.T) {
	points := []string{
		"after:lock", "after:fetch", "after:venv", "after:install", "after:link",
		"after:stop", "switch:state-saved", "after:switch", "after:start", "after:health", "after:prune",
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			// A target of its own: a kill leaves it as no other point
			// should find it.
			s := newSite(t)
			if r := runAgent(t, s.spec("apply", s.git("rev-parse", "HEAD"))); r.code != 0 {
				t.Fatalf("initial deploy: %s", r)
			}
			before := s.state().Current
			sha := s.change(point == "after:venv" || point == "after:install")
			r := runAgent(t, s.spec("apply", sha), "FERRY_AGENT_FAULT=kill:"+point)
			if r.code != -1 || r.result != nil {
				t.Fatalf("the agent was not killed at %s: %s", point, r)
			}
			st := s.state()
			if st.Current == "" {
				t.Fatal("no current release after the kill")
			}
			dir := filepath.Join(s.root, "releases", st.Current)
			if _, err := os.Stat(filepath.Join(dir, "REVISION")); err != nil {
				t.Fatalf("current %s is not a complete release: %v", st.Current, err)
			}
			if st.Current != before && s.release(st.Current).SHA != sha {
				t.Fatalf("current moved to %s, which is neither the old nor the new release", st.Current)
			}
			link, err := os.Readlink(filepath.Join(s.root, "current"))
			if err != nil {
				t.Fatalf("current link: %v", err)
			}
			if _, err := os.Stat(filepath.Join(s.root, link, "REVISION")); err != nil {
				t.Fatalf("current link %s names an incomplete release", link)
			}
			// Before the old process is stopped, the old release still serves.
			switch point {
			case "after:lock", "after:fetch", "after:venv", "after:install", "after:link":
				if got := s.health(); got != s.release(before).SHA {
					t.Fatalf("old release must still serve after a kill at %s: got %q", point, got)
				}
			case "after:health", "after:prune":
				if got := s.health(); got != sha {
					t.Fatalf("new release must serve after a kill at %s: got %q", point, got)
				}
			}
			// The next deploy takes over the dead deploy's lock and succeeds.
			next := runAgent(t, s.spec("apply", sha))
			if next.code != 0 {
				t.Fatalf("deploy after a kill at %s: %s", point, next)
			}
			if len(next.result.Warnings) == 0 {
				t.Fatalf("taking over the dead deploy's lock must warn: %s", next)
			}
			if got := s.health(); got != sha {
				t.Fatalf("after recovery the app answers %q, want %s", got, sha)
			}
			entries, _ := os.ReadDir(filepath.Join(s.root, "releases"))
			for _, e := range entries {
				if filepath.Ext(e.Name()) == ".partial" {
					t.Fatalf("a partial release was left behind: %s", e.Name())
				}
			}
		})
	}
}
