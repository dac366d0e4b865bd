// Package faketransport is a transport.Transport for tests of what ferry
// does with the servers' answers: reports, summaries, status output and
// exit codes. It runs nothing: each spec is answered from a script, with
// the progress events a real agent would emit, in microseconds instead of
// the seconds a real deploy takes. Tests that need a real deploy use the
// local transport or the sandbox.
package faketransport

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/transport"
)

// Transport answers specs from a script. The zero value answers every
// operation with success on one server named "local".
type Transport struct {
	// Targets names the servers; empty means one, "local".
	Targets []string
	// Answer gives one server's result for spec; nil means Result(spec,
	// success).
	Answer func(target string, spec agent.Spec) agent.Result
	// Err fails Run before anything ran, as a preflight or an upload does.
	Err error

	mu    sync.Mutex
	specs []agent.Spec
}

var _ transport.Transport = (*Transport)(nil)

// Run implements transport.Transport: it records spec, then for each
// server emits the events of its result's steps and returns the results.
func (t *Transport) Run(ctx context.Context, spec agent.Spec, progress transport.Progress) ([]transport.TargetResult, error) {
	t.mu.Lock()
	t.specs = append(t.specs, spec)
	t.mu.Unlock()
	if t.Err != nil {
		return nil, t.Err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	targets := t.Targets
	if len(targets) == 0 {
		targets = []string{"local"}
	}
	var out []transport.TargetResult
	for _, target := range targets {
		res := Result(spec, Success(spec.Op))
		if t.Answer != nil {
			res = t.Answer(target, spec)
		}
		emit(target, res, progress)
		out = append(out, transport.TargetResult{Target: target, Result: res})
	}
	return out, nil
}

// Specs returns the specs Run was given, in order.
func (t *Transport) Specs() []agent.Spec {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]agent.Spec(nil), t.specs...)
}

func emit(target string, res agent.Result, progress transport.Progress) {
	if progress == nil {
		return
	}
	for _, s := range res.Steps {
		progress(target, agent.Event{Event: agent.EventStep, Step: s.Name, Status: agent.StepStarted})
		progress(target, agent.Event{Event: agent.EventStep, Step: s.Name, Status: s.Status, MS: s.DurationMS, Msg: s.Detail})
	}
	for _, w := range res.Warnings {
		progress(target, agent.Event{Event: agent.EventWarn, Msg: w})
	}
}

// Success is the outcome of op when all goes well.
func Success(op string) string {
	if op == agent.OpApply || op == agent.OpRollback {
		return agent.OutcomeDeployed
	}
	return agent.OutcomeOK
}

// Created is when every release of the script was made: a fixed time,
// so that outputs are the same on every run.
var Created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// SHA is the commit the script's releases serve when the spec names none
// (status, releases, unlock).
const SHA = "fa4efa4efa4efa4efa4efa4efa4efa4efa4efa4e"

// codes is the agent's mapping of outcomes to exit codes.
var codes = map[string]int{
	agent.OutcomeDeployed: exitcode.OK, agent.OutcomeOK: exitcode.OK, agent.OutcomeFailed: exitcode.Failed,
	agent.OutcomeInvalid: exitcode.Usage, agent.OutcomeRolledBack: exitcode.RolledBack,
	agent.OutcomeRollbackFailed: exitcode.RollbackFailed, agent.OutcomeLocked: exitcode.Locked,
}

// Result is what a real agent answers to spec when the operation ends
// with outcome: its steps up to where it stopped, its error and hints, and
// for the read-only operations a release that serves, healthy.
func Result(spec agent.Spec, outcome string) agent.Result {
	code, ok := codes[outcome]
	if !ok {
		panic(fmt.Sprintf("faketransport: unknown outcome %q", outcome))
	}
	sha := spec.SHA
	if sha == "" {
		sha = SHA
	}
	res := agent.Result{
		Op: spec.Op, Outcome: outcome, ExitCode: code, App: spec.App, Environment: spec.Environment, Host: "fake",
		SHA: sha, Release: releaseID(sha), Previous: releaseID(strings.Repeat("0", 40)), DurationMS: 1234,
	}
	steps := func(failAt agent.StepName, names ...agent.StepName) {
		for _, n := range names {
			st := agent.StepResult{Name: n, Status: agent.StepOK, DurationMS: 10}
			if n == failAt {
				st.Status = agent.StepFailed
			}
			res.Steps = append(res.Steps, st)
			if n == failAt {
				return
			}
		}
	}
	apply := []agent.StepName{agent.StepLock, agent.StepFetch, agent.StepVenv, agent.StepInstall, agent.StepLink,
		agent.StepStop, agent.StepSwitch, agent.StepStart, agent.StepHealth, agent.StepPrune}
	switch outcome {
	case agent.OutcomeDeployed:
		if spec.Op == agent.OpRollback {
			steps("", agent.StepLock, agent.StepVerify, agent.StepStop, agent.StepSwitch, agent.StepStart, agent.StepHealth)
		} else {
			steps("", apply...)
		}
	case agent.OutcomeFailed:
		steps(agent.StepInstall, apply...)
		res.Error = "install: pip install failed: No matching distribution found for greet==9.9.9"
		res.Hints = []string{"the old release is still serving; fix requirements.txt and deploy again"}
		res.Release = ""
	case agent.OutcomeRolledBack:
		steps(agent.StepHealth, apply...)
		res.Steps = append(res.Steps, agent.StepResult{Name: agent.StepRollback, Status: agent.StepOK, DurationMS: 10})
		res.Error = "health: not healthy after 2s: connection refused; rolled back to the previous release"
		res.Hints = []string{"the previous release serves again; see the log tail above"}
		res.LogTail = []string{"Traceback (most recent call last):", "RuntimeError: boom at startup"}
	case agent.OutcomeRollbackFailed:
		steps(agent.StepHealth, apply...)
		res.Steps = append(res.Steps, agent.StepResult{Name: agent.StepRollback, Status: agent.StepFailed, DurationMS: 10})
		res.Error = "health: not healthy after 2s; the rollback failed too: the previous release does not answer"
		res.Hints = []string{"nothing healthy serves: a person must look (ferry status, the logs under shared/logs)"}
	case agent.OutcomeLocked:
		steps(agent.StepLock, apply...)
		res.Error = "lock: another deploy holds the lock: Ada Tester (apply, pid 4242 on build-1) since 2026-01-02 03:04:05"
		res.Hints = []string{"wait for it, or pass --lock-wait 5m; ferry unlock removes a lock whose holder is dead"}
		res.Release = ""
	case agent.OutcomeInvalid:
		res.Error = "spec: root must be absolute"
		res.Release = ""
	}
	switch spec.Op {
	case agent.OpStatus:
		cur := release(sha, "healthy")
		prev := release(strings.Repeat("0", 40), "healthy")
		res.Status = &agent.Status{Current: &cur, Previous: &prev, PID: 4242, Running: true, Healthy: true, HealthNote: "200 from http://127.0.0.1:8000/health"}
	case agent.OpReleases:
		res.Releases = []agent.Release{release(strings.Repeat("0", 40), "healthy"), release(sha, "healthy")}
	case agent.OpUnlock:
		res.Lock = &agent.LockOwner{Who: "Ada Tester", Op: agent.OpApply, PID: 4242, Host: "build-1", Since: Created, TTL: 2 * time.Hour}
	}
	return res
}

// Unhealthy is Result for a status whose app does not answer.
func Unhealthy(spec agent.Spec) agent.Result {
	res := Result(spec, agent.OutcomeOK)
	res.Status.Running, res.Status.Healthy, res.Status.PID = false, false, 0
	res.Status.HealthNote = "connection refused"
	return res
}

func releaseID(sha string) string { return "20260102T030405Z-" + sha[:12] }

func release(sha, status string) agent.Release {
	return agent.Release{
		ID: releaseID(sha), SHA: sha, Created: Created, Finished: Created.Add(3 * time.Second), Deployer: "Ada Tester", Status: status,
		Run: &agent.RunConfig{Start: []string{"python", "app.py"}, Health: agent.HealthSpec{URL: "http://127.0.0.1:8000/health", Status: 200,
			Deadline: time.Minute, Interval: time.Second}, StopTimeout: 10 * time.Second},
	}
}
