package ssm_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// After a fleet rollback, the instances rolled back keep the release that
// failed elsewhere marked bad: a later `ferry rollback` moves no instance
// onto the failed commit (it used to move those while the failed one
// refused: a mixed fleet), and `rollback --to` the commit that serves
// everywhere is a success on every instance ("already serving").
func TestFleetRollbackMarksTheFailedReleaseBad(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, sandbox.Options{})
	v1 := f.head()
	f.deploy(v1)
	v2 := f.commit("second")
	bad := f.ids[2]
	f.setEnv(bad, "FAIL_SHA="+v2[:12]+"\n")
	opts := f.options(func(o *ssm.Options) { o.MaxConcurrency = "2"; o.MaxErrors = "0" })
	if _, err := f.run(testCtx(t), opts, f.spec(agent.OpApply, v2), &recorder{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range f.ids {
		if v := f.serving(id); v != v1 {
			t.Fatalf("%s serves %q after the fleet rollback, want %s", id, v, v1[:8])
		}
		if id == bad {
			continue
		}
		var st agent.State
		b, _ := os.ReadFile(filepath.Join(f.rootOf(id), "state.json"))
		json.Unmarshal(b, &st)
		for _, r := range st.Releases {
			if r.SHA == v2 && (r.Status != agent.StatusBad || !strings.Contains(r.Reason, "fleet rollback")) {
				t.Errorf("%s: the release the fleet rolled back from is %s (%s), want bad", id, r.Status, r.Reason)
			}
		}
	}

	// A plain rollback now has nowhere good to go on any instance: none
	// moves onto the failed commit.
	res, err := f.run(testCtx(t), opts, f.spec(agent.OpRollback, ""), &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range byTarget(res) {
		if v := f.serving(id); v != v1 {
			t.Errorf("%s serves %q after rollback (%s: %s): the fleet is mixed", id, v, r.Outcome, r.Error)
		}
	}

	// rollback --to the commit that serves: already there, a success.
	spec := f.spec(agent.OpRollback, "")
	spec.To = v1[:12]
	res, err = f.run(testCtx(t), opts, spec, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range byTarget(res) {
		if r.ExitCode != 0 || r.Outcome != agent.OutcomeOK || !strings.Contains(r.Note, "already serving") {
			t.Errorf("%s: rollback --to the release it serves: %s (exit %d) %q %q", id, r.Outcome, r.ExitCode, r.Note, r.Error)
		}
	}
}
