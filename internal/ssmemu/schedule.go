package ssmemu

import "time"

// schedule is the service side of one command: it delivers invocations to
// online instances within MaxConcurrency, stops delivering once errors exceed
// MaxErrors, and expires what was never delivered. It runs until every
// invocation is terminal or the emulator closes.
func (e *Emulator) schedule(c *command) {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return
		}
		now := time.Now()
		finished := e.stepLocked(c, now)
		wait := c.expires.Sub(now)
		if wait <= 0 {
			wait = time.Hour // past expiry only running scripts remain; they wake us
		}
		e.mu.Unlock()
		if finished {
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-c.wake:
		case <-timer.C:
		case <-e.closing:
			return
		}
	}
}

// stepLocked advances the command's state as far as it can at time now and
// says whether the command is finished.
func (e *Emulator) stepLocked(c *command, now time.Time) bool {
	// Results held while an instance was offline are reported once it is back.
	for _, inv := range c.invocations {
		if inv.held == nil {
			continue
		}
		if e.instances[inv.instanceID] == nil {
			inv.held = nil
			inv.finishLocked(detailUndeliverable, -1, now)
		} else if e.instanceOnlineLocked(inv.instanceID) {
			inv.applyLocked(inv.held)
		}
	}
	// Documented for ExpiresAfter: what is still Pending or InProgress (here:
	// never delivered, or finished but never reported) becomes Delivery Timed Out.
	if !now.Before(c.expires) {
		for _, inv := range c.invocations {
			if !terminalDetail(inv.detail) && !inv.running {
				inv.held = nil
				inv.finishLocked(detailDeliveryTimedOut, -1, now)
			}
		}
	}
	// Documented for MaxErrors: once errors exceed it, invocations not yet
	// started are Terminated; running ones are left to finish.
	errs, inFlight := 0, 0
	for _, inv := range c.invocations {
		if errorDetail(inv.detail) {
			errs++
		}
		if inv.running || inv.held != nil {
			inFlight++
		}
	}
	for _, inv := range c.invocations {
		if inv.detail != detailPending || inv.running {
			continue
		}
		if errs > c.maxErr {
			inv.finishLocked(detailTerminated, -1, now)
			continue
		}
		inst := e.instances[inv.instanceID]
		switch {
		case inst == nil || inst.PingStatus == PingInactive:
			// Inferred: a node that is gone or deregistered cannot be reached.
			inv.finishLocked(detailUndeliverable, -1, now)
			continue
		case !now.Before(c.deliverBy):
			continue // documented: not started within TimeoutSeconds, never runs
		case inst.PingStatus != PingOnline || inst.Platform != PlatformLinux:
			continue // waits for the instance; Windows ones never take delivery here
		case inFlight >= c.maxConc:
			continue
		}
		inFlight++
		e.running++
		e.peak = max(e.peak, e.running)
		inv.running = true
		inv.detail = detailInProgress
		inv.started = now
		inv.stop = make(chan struct{})
		e.wg.Add(1)
		go e.execute(c, inv, Instance{ID: inst.ID, Dir: inst.Dir}, inv.stop)
	}
	for _, inv := range c.invocations {
		if !terminalDetail(inv.detail) {
			return false
		}
	}
	c.done = true
	return true
}
