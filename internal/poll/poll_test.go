package poll_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
)

func TestUntilStopsWhenDone(t *testing.T) {
	n := 0
	err := poll.Until(context.Background(), poll.Backoff{Initial: time.Millisecond}, func(context.Context) (bool, error) {
		n++
		return n == 3, nil
	})
	if err != nil || n != 3 {
		t.Fatalf("err %v after %d attempts, want nil after 3", err, n)
	}
}

func TestUntilReturnsTryError(t *testing.T) {
	boom := errors.New("boom")
	err := poll.Until(context.Background(), poll.Backoff{}, func(context.Context) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestUntilDeadlineMakesALastAttempt(t *testing.T) {
	n := 0
	err := poll.Until(context.Background(), poll.Backoff{Initial: time.Hour, Deadline: 20 * time.Millisecond}, func(context.Context) (bool, error) {
		n++
		return false, nil
	})
	if !errors.Is(err, poll.ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
	// One at once, one at the deadline (the hour-long wait is cut short).
	if n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

func TestUntilWatchesTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- poll.Until(ctx, poll.Backoff{Initial: time.Hour}, func(context.Context) (bool, error) { return false, nil })
	}()
	cancel()
	// No timing assertion: an hour-long wait that returns at all was
	// interrupted by the context.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestScheduleWarmThenBackoffToMax(t *testing.T) {
	b := poll.Backoff{Initial: 5 * time.Millisecond, Warm: time.Second, Factor: 2, Max: 40 * time.Millisecond}
	elapsed := func(i int) time.Duration {
		if i < 2 {
			return 500 * time.Millisecond // still warming up
		}
		return 2 * time.Second
	}
	got := b.Waits(7, elapsed)
	want := []time.Duration{5, 5, 5, 10, 20, 40, 40}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("waits %v, want %v ms", got, want)
		}
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := poll.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryGrowsToMaxAndResets(t *testing.T) {
	r := poll.Backoff{Initial: time.Second, Max: 30 * time.Second, Factor: 2}.Retry()
	var got []time.Duration
	for range 7 {
		got = append(got, r.Next())
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("waits %v, want %v s", got, want)
		}
	}
	r.Reset()
	if w := r.Next(); w != time.Second {
		t.Fatalf("after Reset the wait is %s, want the initial 1s", w)
	}
}
