package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

// waitUntil polls cond with a generous bound: a loaded machine is slow, not
// wrong.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	b := poll.Backoff{Initial: 10 * time.Millisecond, Max: 250 * time.Millisecond, Deadline: 2 * time.Minute}
	if err := poll.Until(context.Background(), b, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
