package agent_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// TestInterruptedDeployIsRestored ends the operation's context (Ctrl-C,
// SIGTERM) while the new release is being checked: the restore still
// stops it and brings back the release that served, healthy.
func TestInterruptedDeployIsRestored(t *testing.T) {
	s := newSite(t)
	base := s.git("rev-parse", "HEAD")
	if r := runAgent(t, s.spec("apply", base)); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	// The new release listens on another port: it runs, but never answers
	// the health check, which only the interruption ends.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := l.Addr().(*net.TCPAddr).Port
	l.Close()
	spec := s.spec("apply", s.change(false))
	spec.Vars = map[string]string{"PORT": fmt.Sprint(elsewhere)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := agent.Run(ctx, spec, agent.Options{Emit: func(ev agent.Event) {
		if ev.Event == agent.EventStep && ev.Step == agent.StepHealth && ev.Status == agent.StepStarted {
			cancel()
		}
	}})
	if res.Outcome != agent.OutcomeRolledBack {
		t.Fatalf("an interrupted deploy must still be rolled back: %s: %s %q", res.Outcome, res.Error, res.Hints)
	}
	if got := s.health(); got != base {
		t.Fatalf("after the interrupted deploy the app answers %q, want %s", got, base)
	}
}
