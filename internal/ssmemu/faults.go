package ssmemu

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// ThrottleRule makes the emulator answer a share of calls with SSM's
// throttling error (HTTP 400 ThrottlingException, "Rate exceeded") so that
// client retry behaviour can be proven. A call is throttled when any rule
// that applies to its operation says so.
type ThrottleRule struct {
	// Operation limits the rule to one operation (e.g. "GetCommandInvocation");
	// empty means every operation.
	Operation string
	// Every throttles the Nth, 2Nth, ... call the rule applies to; 0 disables it.
	Every int
	// Fraction throttles each call with this probability, drawn from a
	// generator seeded with Seed so that runs are reproducible.
	Fraction float64
	Seed     int64
}

type throttleState struct {
	rule ThrottleRule
	seen int
	rng  *rand.Rand
}

// throttler owns its own lock so that fault decisions never wait on command state.
type throttler struct {
	mu    sync.Mutex
	rules []*throttleState
}

func (t *throttler) set(rules []ThrottleRule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = t.rules[:0]
	for _, r := range rules {
		seed := uint64(r.Seed)
		t.rules = append(t.rules, &throttleState{rule: r, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))})
	}
}

func (t *throttler) hit(op string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	throttled := false
	for _, s := range t.rules {
		if s.rule.Operation != "" && s.rule.Operation != op {
			continue
		}
		s.seen++
		if s.rule.Every > 0 && s.seen%s.rule.Every == 0 {
			throttled = true
		}
		if s.rule.Fraction > 0 && s.rng.Float64() < s.rule.Fraction {
			throttled = true
		}
	}
	return throttled
}

// SetThrottle replaces the throttling rules at runtime; no rules means no throttling.
func (e *Emulator) SetThrottle(rules ...ThrottleRule) { e.throttle.set(rules) }

// SetVisibilityDelay sets how long a new command stays invisible to
// GetCommandInvocation (InvocationDoesNotExist) and ListCommandInvocations
// (empty list), imitating the service's eventual consistency. It applies to
// commands sent afterwards and is measured in real time, not scaled.
func (e *Emulator) SetVisibilityDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.visibilityDelay = d
}

// Call is one API request as the emulator saw it, for tests and benchmarks
// that count how many SSM calls a deploy costs per instance.
type Call struct {
	Operation string
	// InstanceIDs are the instances the request named (InstanceId or InstanceIds).
	InstanceIDs []string
	CommandID   string
	// Error is the __type answered, empty on success (ThrottlingException for throttled calls).
	Error string
	At    time.Time
}

type callLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// Calls returns every request received so far, oldest first.
func (e *Emulator) Calls() []Call {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	out := make([]Call, len(e.log.calls))
	for i, c := range e.log.calls {
		c.InstanceIDs = slices.Clone(c.InstanceIDs)
		out[i] = c
	}
	return out
}

// CallCount counts requests to op ("" counts all), throttled ones included,
// because each is a round trip the client paid for.
func (e *Emulator) CallCount(op string) int {
	return e.CallCountFor(op, "")
}

// CallCountFor counts requests to op ("" for any) that named instanceID
// ("" for any instance).
func (e *Emulator) CallCountFor(op, instanceID string) int {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	n := 0
	for _, c := range e.log.calls {
		if op != "" && c.Operation != op {
			continue
		}
		if instanceID != "" && !slices.Contains(c.InstanceIDs, instanceID) {
			continue
		}
		n++
	}
	return n
}

// ResetCalls forgets the call log, so a test can measure one phase alone.
func (e *Emulator) ResetCalls() {
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	e.log.calls = nil
}
