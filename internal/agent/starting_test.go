package agent_test

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// TestKilledStartIsMarkedInterrupted kills the agent between start and
// health: the next run marks that release bad ("interrupted"), as it
// marks a half-built one failed, and status never offers it as the
// release to go back to: previous is the last good one, and the bad one
// is listed as bad.
func TestKilledStartIsMarkedInterrupted(t *testing.T) {
	s := newSite(t)
	sha1 := s.git("rev-parse", "HEAD")
	if r := runAgent(t, s.spec("apply", sha1)); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	good := s.state().Current
	sha2 := s.change(false)
	if r := runAgent(t, s.spec("apply", sha2), "FERRY_AGENT_FAULT=kill:after:start"); r.code != -1 {
		t.Fatalf("the agent was not killed after start: %s", r)
	}
	killed := s.state().Current
	if s.release(killed).Status != agent.StatusStarting {
		t.Fatalf("a release killed after its start is %q", s.release(killed).Status)
	}
	sha3 := s.change(false)
	r := runAgent(t, s.spec("apply", sha3))
	if r.code != 0 {
		t.Fatalf("deploy after the kill: %s", r)
	}
	if !strings.Contains(strings.Join(r.result.Warnings, "\n"), killed) {
		t.Fatalf("the next deploy must say it marked %s: %q", killed, r.result.Warnings)
	}
	k := s.release(killed)
	if k.Status != agent.StatusBad || !strings.Contains(k.Reason, "interrupted") {
		t.Fatalf("the release killed between start and health must be marked bad (interrupted), is %s (%s)", k.Status, k.Reason)
	}
	st := runAgent(t, s.spec("status", ""))
	if st.code != 0 || st.result.Status.Previous == nil || st.result.Status.Previous.ID != good {
		t.Fatalf("status must name the last good release %s as previous, not the interrupted %s: %s", good, killed, st)
	}
	bad := false
	for _, b := range st.result.Status.Bad {
		bad = bad || b.ID == killed
	}
	if !bad {
		t.Fatalf("status must list %s as bad: %s", killed, st)
	}
	if rel := runAgent(t, s.spec("releases", "")); rel.result.Previous != good {
		t.Fatalf("releases must name the last good release as previous: %s", rel)
	}
}
