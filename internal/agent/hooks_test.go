package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// marker is a hook that appends what it was told to the shared
// instance/marker, importing greet, which only the release's venv holds.
func marker(what string) []string {
	return []string{"python", "-c", "import greet, os; open(os.path.join('instance', 'marker'), 'a').write('" + what + " ' + os.environ['FERRY_HOOK'] + ' ' + os.environ.get('FERRY_FAILED_STEP', '-') + ' ' + os.environ.get('FERRY_OUTCOME', '-') + ' $HOME\\n')"}
}

// TestHooks runs before_switch and after_healthy in the new release with
// its venv and environment, and a failing before_switch (a migration)
// stops the deploy before the switch with nothing changed, on_failure
// told why.
func TestHooks(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")
	spec := s.spec("apply", sha)
	spec.Shared = []string{"instance"}
	writeData := []string{"python", "-c", "import os; os.makedirs('data', exist_ok=True); open('data/cache.db', 'w').write('x')"}
	spec.Hooks = &agent.Hooks{BeforeSwitch: [][]string{marker("migrate"), writeData}, AfterHealthy: [][]string{marker("warm")}, OnFailure: [][]string{marker("alert")}}
	r := runAgent(t, spec)
	if r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	order := []string{}
	for _, st := range r.result.Steps {
		order = append(order, string(st.Name)+"="+string(st.Status))
	}
	if got := strings.Join(order, " "); !strings.Contains(got, "link=ok before_switch=ok stop=skipped switch=ok start=ok health=ok writes=ok after_healthy=ok watch=skipped prune") || strings.Contains(got, "on_failure") {
		t.Fatalf("steps: %s", got)
	}
	// The first deploy warns once of data written into the release, not
	// of what went to shared/.
	if w := strings.Join(r.result.Warnings, "\n"); !strings.Contains(w, "the app wrote into its release directory (data/cache.db)") ||
		!strings.Contains(w, "add shared: [data] to ferry.yml") || strings.Contains(w, "instance") {
		t.Errorf("warnings: %s", w)
	}
	markerFile := filepath.Join(s.root, "shared", "instance", "marker")
	b, _ := os.ReadFile(markerFile)
	// $HOME is passed as written: a hook is a vector, never expanded.
	if string(b) != "migrate before_switch - - $HOME\nwarm after_healthy - - $HOME\n" {
		t.Fatalf("marker after the first deploy:\n%s", b)
	}
	first := r.result.Release

	sha2 := s.change(false)
	spec2 := s.spec("apply", sha2)
	spec2.Shared = spec.Shared
	spec2.Hooks = &agent.Hooks{
		BeforeSwitch: [][]string{{"python", "-c", "import sys; print('migration broke'); sys.exit(3)"}},
		AfterHealthy: [][]string{marker("warm")}, OnFailure: [][]string{marker("alert")},
	}
	r = runAgent(t, spec2)
	if r.code != 1 || r.result.Outcome != agent.OutcomeFailed {
		t.Fatalf("a failed before_switch must fail the deploy with nothing changed: %s", r)
	}
	if !strings.Contains(r.result.Error, "before_switch: python -c") || !strings.Contains(r.result.Error, "exited with status 3") {
		t.Errorf("error: %s", r.result.Error)
	}
	if !strings.Contains(strings.Join(r.result.LogTail, "\n"), "migration broke") {
		t.Errorf("the hook's output is not in the log tail: %q", r.result.LogTail)
	}
	if !strings.Contains(strings.Join(r.result.Hints, "\n"), "untouched and still serving") {
		t.Errorf("hints: %q", r.result.Hints)
	}
	if st := s.state(); st.Current != first || s.health() != sha {
		t.Fatalf("current is %s (health %s), want the untouched %s", st.Current, s.health(), first)
	}
	if rel := s.release(r.result.Release); rel == nil || rel.Status != agent.StatusFailed {
		t.Fatalf("the release whose migration failed: %+v", rel)
	}
	b, _ = os.ReadFile(markerFile)
	if !strings.HasSuffix(string(b), "alert on_failure before_switch failed $HOME\n") {
		t.Fatalf("on_failure was not told of the failure:\n%s", b)
	}
	log, _ := os.ReadFile(filepath.Join(s.root, "shared", "logs", "app-"+r.result.Release+".log"))
	if !strings.Contains(string(log), "== ferry hook before_switch") || !strings.Contains(string(log), "migration broke") {
		t.Errorf("the hook's output is not in the release's log:\n%s", log)
	}
}
