package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/transport"
)

// A failed deploy's notice says, in words, what failed where, with the
// hint and the log's last lines; a failed install's pip lines are one
// group in the log and not printed twice.
func TestSummaryOfAFailure(t *testing.T) {
	var errb bytes.Buffer
	f := testFactory()
	f.Err = &errb
	f.redact = &redactor{}
	o := &operation{Common: Common{Factory: f}, op: agent.OpApply}
	o.t = &target{cfg: &config.Config{App: "billing", Health: config.Health{URL: "http://127.0.0.1:8000/health"}}, name: "production",
		env: &config.Environment{Target: config.TargetSSM}}
	o.spec.SHA = strings.Repeat("4e1eef7a", 5)
	install := agent.Result{Op: agent.OpApply, Outcome: agent.OutcomeFailed, ExitCode: 1, Release: "20260102T030405Z-4e1eef7a4e1e",
		Error: "pip install -r requirements.txt: exit status 1\nERROR: No matching distribution found for flask==9.9\nERROR: could not find a version",
		Hints: []string{"pip's log is in shared/logs/pip-x.log"}, Steps: []agent.StepResult{{Name: agent.StepInstall, Status: agent.StepFailed, DurationMS: 1200}}}
	rolled := agent.Result{Op: agent.OpApply, Outcome: agent.OutcomeRolledBack, ExitCode: 3, Error: "health: not healthy after 30s",
		LogTail: []string{"Traceback (most recent call last):", "KeyError: 'DATABASE_URL'"}}
	o.results = []transport.TargetResult{{Target: "i-0a", Result: install}, {Target: "i-0b", Result: rolled}}

	got := o.pipGroup("i-0a", install)
	if got.Error != "pip install -r requirements.txt: exit status 1" || !strings.Contains(errb.String(), "::group::i-0a: pip's last lines\nERROR: No matching distribution") {
		t.Errorf("pip group: %q\n%s", got.Error, errb.String())
	}
	md := o.summaryMarkdown()
	for _, want := range []string{"### ⚠️ Deployment of billing to production failed and was rolled back",
		"| Status | Failed after the switch and was rolled back: the previous release serves |",
		"| i-0a | failed before anything changed: the previous release still serves | 20260102T030405Z-4e1eef7a4e1e |",
		"| i-0b | failed after the switch and was rolled back: the previous release serves |",
		"Hint: pip's log is in shared/logs/pip-x.log", "KeyError: 'DATABASE_URL'", "| install requirements | failed | 1.2s |",
		"`" + o.spec.SHA + "`"} {
		if !strings.Contains(md, want) {
			t.Errorf("the notice lacks %q:\n%s", want, md)
		}
	}
	for _, internal := range []string{"rolled_back", "apply", "| install |"} {
		if strings.Contains(md, internal) {
			t.Errorf("the notice says %q:\n%s", internal, md)
		}
	}
}
