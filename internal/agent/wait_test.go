package agent_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// waitUntil polls cond with a generous bound: a loaded machine is slow, not
// wrong.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	b := poll.Backoff{Initial: 10 * time.Millisecond, Max: 250 * time.Millisecond, Deadline: 2 * time.Minute}
	if err := poll.Until(context.Background(), b, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (s *site) appPID() int {
	h, err := proc.ReadPIDFile(filepath.Join(s.root, "run", "app.pid"))
	if err != nil {
		return 0
	}
	return h.PID
}
