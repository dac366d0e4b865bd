// Package poll is the one way ferry waits for something to become true:
// a lock to free, an app to answer, a process to exit, a service to
// start, an SSM command to end. Every wait watches its context, so Ctrl-C
// and SIGTERM end it at once, and none sleeps longer than its deadline.
//
// The package is standard library only: ferry-agent uses it too.
package poll

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// ErrDeadline is returned when Backoff.Deadline passes before try
// reported done. Callers wrap it with what they were waiting for.
var ErrDeadline = errors.New("deadline passed")

// Backoff is a schedule of waits between attempts.
type Backoff struct {
	// Initial is the first wait; zero means 10ms.
	Initial time.Duration
	// Max caps each wait; zero means Initial (a constant interval).
	Max time.Duration
	// Factor multiplies the wait after each attempt once Warm has passed;
	// values below 1 mean 2.
	Factor float64
	// Warm keeps the Initial wait for this long from the start: apps and
	// processes usually answer within milliseconds, so the first second is
	// polled fast and a slow start still costs few attempts.
	Warm time.Duration
	// Jitter spreads each wait by ± this fraction (0 to 1), so many
	// pollers of one service do not fall into step.
	Jitter float64
	// Deadline bounds the whole wait; zero means only the context does.
	Deadline time.Duration
}

// Until calls try until it reports done, returns an error, ctx ends or
// the deadline passes. The first attempt is immediate. It returns nil
// when done, try's error, ctx.Err(), or ErrDeadline. The last wait is cut
// short so that one attempt is made at the deadline itself.
func Until(ctx context.Context, b Backoff, try func(ctx context.Context) (done bool, err error)) error {
	start := time.Now()
	var deadline time.Time
	if b.Deadline > 0 {
		deadline = start.Add(b.Deadline)
	}
	w := b.first()
	for {
		done, err := try(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		wait := b.jittered(w)
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrDeadline
			}
			wait = min(wait, left)
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
		w = b.next(w, time.Since(start))
	}
}

// Sleep waits d or until ctx ends, returning ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retry is a Backoff's schedule handed out one wait at a time, for a loop
// that waits between attempts it makes itself (restarting an app that
// crashed) rather than polling a condition with Until. Sleep with the wait
// it returns, so that the wait still watches a context.
type Retry struct {
	b     Backoff
	w     time.Duration
	start time.Time
}

// Retry starts b's schedule now. Deadline does not apply: the loop decides
// when to give up.
func (b Backoff) Retry() *Retry { return &Retry{b: b, start: time.Now()} }

// Next returns the wait before the next attempt: Initial first, then
// growing as Until's waits grow, jittered.
func (r *Retry) Next() time.Duration {
	if r.w == 0 {
		r.w = r.b.first()
	} else {
		r.w = r.b.next(r.w, time.Since(r.start))
	}
	return r.b.jittered(r.w)
}

// Reset starts the schedule again, for when the thing retried went well
// for long enough that its next failure is a new story.
func (r *Retry) Reset() {
	r.w = 0
	r.start = time.Now()
}

// Waits returns the first n waits of b without jitter, for tests and for
// documentation of a schedule.
func (b Backoff) Waits(n int, elapsed func(i int) time.Duration) []time.Duration {
	var out []time.Duration
	w := b.first()
	for i := range n {
		out = append(out, w)
		w = b.next(w, elapsed(i))
	}
	return out
}

func (b Backoff) first() time.Duration {
	if b.Initial <= 0 {
		return 10 * time.Millisecond
	}
	return b.Initial
}

func (b Backoff) next(w, elapsed time.Duration) time.Duration {
	if elapsed < b.Warm {
		return b.first()
	}
	limit := b.Max
	if limit <= 0 {
		limit = b.first()
	}
	f := b.Factor
	if f < 1 {
		f = 2
	}
	n := time.Duration(float64(w) * f)
	if n < w { // overflow
		n = limit
	}
	return min(n, limit)
}

func (b Backoff) jittered(w time.Duration) time.Duration {
	if b.Jitter <= 0 {
		return w
	}
	j := min(b.Jitter, 1)
	spread := (rand.Float64()*2 - 1) * j * float64(w)
	return max(time.Duration(float64(w)+spread), 0)
}
