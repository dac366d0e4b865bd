package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/health"
	"github.com/ferryhq/ferry/internal/proc"
)

// watchEvery is how often the watch probes when health.interval is not
// set: often enough that three failures in a row are a minute's outage at
// most, rarely enough to be no load on the app.
const watchEvery = 5 * time.Second

// watchProgress is how often a long watch says it is still watching, so
// a person (and SSM's console) sees the deploy alive.
const watchProgress = time.Minute

// watchHealthy is the post-deploy watch (health.watch): after the new
// release proved healthy, it keeps probing it for the watch's length, and
// WatchFailures failed probes in a row fail the step. The step is in the
// serve phase, so that failure rolls back to the release that served
// before, as a failed health check does: the SOP's "watch the first 15
// minutes" done by the agent, which holds the lock meanwhile so no other
// deploy starts under it. A signal ends the watch early and keeps the
// release: it is healthy, and the person who stopped the watch did not
// ask for a rollback.
func watchHealthy(ctx context.Context, o *op) error {
	hs := o.spec.Health
	if hs.Watch <= 0 {
		return skip("no post-deploy watch (health.watch unset, or --no-watch)")
	}
	r := o.state.find(o.to)
	every := hs.Interval
	if every <= 0 {
		every = watchEvery
	}
	failures := max(hs.WatchFailures, 1)
	c := health.Check{
		URL: o.healthURL(r), Status: o.runOf(r).Health.Status,
		VersionField: o.runOf(r).Health.VersionField, Version: r.SHA,
		Alive: func() bool { return proc.Alive(o.handle) },
	}
	start := time.Now()
	end := start.Add(hs.Watch)
	nextNote := start.Add(watchProgress)
	probes, inARow := 0, 0
	o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("watching %s for %s: %d failed checks in a row roll it back", c.URL, hs.Watch, failures)})
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			o.warn(fmt.Sprintf("the post-deploy watch was stopped after %s of %s: the release stays, unwatched", time.Since(start).Round(time.Second), hs.Watch))
			return nil
		case now := <-t.C:
			ok, last := health.Once(ctx, c)
			if ctx.Err() != nil {
				continue // the signal, not the app: handled above
			}
			probes++
			if ok {
				inARow = 0
			} else {
				inARow++
				o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("watch: check %d failed (%d of %d in a row): %s", probes, inARow, failures, last)})
				if inARow >= failures {
					return fail.Hint(fmt.Errorf("%d failed health checks in a row %s after going live: %s",
						inARow, now.Sub(start).Round(100*time.Millisecond), last),
						"the release was healthy at first, then stopped answering: look at its log for what changed (load, a dependency, a scheduled job)")
				}
			}
			if !now.Before(end) {
				o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("watched %s: %d checks, healthy", hs.Watch, probes)})
				return nil
			}
			if !now.Before(nextNote) {
				o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("watching: %s of %s, %d checks", now.Sub(start).Round(time.Second), hs.Watch, probes)})
				nextNote = now.Add(watchProgress)
			}
		}
	}
}
