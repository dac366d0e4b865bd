package ssm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
)

// fleetRollback puts the instances that deployed back on their previous
// release when others failed, so that the fleet never stays mixed. Each
// is rolled back to the release its own result names as previous;
// instances sharing one are rolled back by one command.
func (r *run) fleetRollback(ctx context.Context, spec agent.Spec, results []transport.TargetResult) {
	var failed []string
	var deployed []int
	for i, tr := range results {
		switch {
		case tr.Result.ExitCode != 0:
			failed = append(failed, tr.Target)
		case tr.Result.Outcome == agent.OutcomeDeployed:
			deployed = append(deployed, i)
		}
	}
	if len(failed) == 0 || len(deployed) == 0 {
		return
	}
	if !r.o.FleetRollback {
		r.warn("", "the fleet is mixed: %d instances deployed %s and %d did not; fleet_rollback is off", len(deployed), text.Short(spec.SHA), len(failed))
		return
	}
	why := strings.Join(failed, ", ")
	if len(failed) > 3 {
		why = strings.Join(failed[:3], ", ") + fmt.Sprintf(" and %d more", len(failed)-3)
	}
	groups := map[string][]int{}
	for _, i := range deployed {
		prev := results[i].Result.Previous
		if prev == "" {
			r.warn(results[i].Target, "%s: first deploy there, nothing to roll back to: it keeps serving %s", results[i].Target, text.Short(spec.SHA))
			continue
		}
		groups[prev] = append(groups[prev], i)
	}
	if len(groups) == 0 {
		return
	}
	r.warn("", "fleet rollback: %s failed; rolling back the %d instances that deployed", why, len(deployed))
	prevs := make([]string, 0, len(groups))
	for p := range groups {
		prevs = append(prevs, p)
	}
	sort.Strings(prevs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, prev := range prevs {
		idx := groups[prev]
		var insts []instance
		for _, i := range idx {
			insts = append(insts, r.instance(results[i].Target))
		}
		rspec := rollbackSpec(spec, prev)
		// The release this rollback leaves failed elsewhere: it is kept,
		// marked bad, so no later rollback goes back to it.
		rspec.MarkBad = fmt.Sprintf("fleet rollback: %s failed on %s", text.Short(spec.SHA), why)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rres, _, err := r.execute(ctx, rspec, insts, false)
			mu.Lock()
			defer mu.Unlock()
			byID := map[string]agent.Result{}
			for _, rr := range rres {
				byID[rr.Target] = rr.Result
			}
			for _, i := range idx {
				rb, ok := byID[results[i].Target]
				if err != nil || !ok {
					rb = baseResult(rspec)
					rb.Outcome, rb.ExitCode = OutcomeNotRun, exitcode.Failed
					rb.Error = fmt.Sprintf("fleet rollback not sent: %v", err)
				}
				results[i].Result = mergeRollback(results[i].Result, rb, prev, why)
			}
		}()
	}
	wg.Wait()
}

func (r *run) instance(id string) instance {
	for _, in := range r.insts {
		if in.ID == id {
			return in
		}
	}
	return instance{ID: id, Platform: PlatformLinux}
}

// rollbackSpec is the deploy's spec turned into a rollback to release to.
func rollbackSpec(spec agent.Spec, to string) agent.Spec {
	s := spec
	s.Op, s.To = agent.OpRollback, to
	s.SHA, s.Source, s.Python, s.Requirements = "", agent.Source{}, "", ""
	s.Pip = agent.Spec{}.Pip
	s.Hooks = nil // a rollback runs no hooks
	return s
}

// mergeRollback reports an instance that deployed and was then rolled
// back with the fleet: exit 3 when its previous release serves again,
// exit 4 when that failed.
func mergeRollback(applied, rb agent.Result, prev, why string) agent.Result {
	m := applied
	m.Steps = append(append([]agent.StepResult(nil), applied.Steps...), prefixSteps(rb.Steps)...)
	m.Warnings = append(append([]string(nil), applied.Warnings...), rb.Warnings...)
	m.DurationMS += rb.DurationMS
	if rb.ExitCode == exitcode.OK {
		m.Outcome, m.ExitCode = agent.OutcomeRolledBack, exitcode.RolledBack
		m.Error = fmt.Sprintf("fleet rollback: deployed %s, then rolled back to %s because %s failed", applied.Release, prev, why)
		m.Release, m.Previous, m.Hints = rb.Release, applied.Release, nil
		return m
	}
	m.Outcome, m.ExitCode = agent.OutcomeRollbackFailed, exitcode.RollbackFailed
	m.Error = fmt.Sprintf("fleet rollback to %s failed (%s failed first): %s", prev, why, rb.Error)
	m.Hints = rb.Hints
	if len(m.Hints) == 0 {
		m.Hints = []string{"this instance still serves " + applied.Release + " while others do not: roll it back by hand (ferry rollback) or deploy a fix"}
	}
	m.LogTail = rb.LogTail
	return m
}

func prefixSteps(steps []agent.StepResult) []agent.StepResult {
	out := make([]agent.StepResult, len(steps))
	for i, s := range steps {
		s.Name = "rollback/" + s.Name
		out[i] = s
	}
	return out
}
