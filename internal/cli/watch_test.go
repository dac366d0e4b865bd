package cli_test

import (
	"strings"
	"testing"
)

// An app that answers its first request healthy, then fails: it passes
// the health check and goes live, and only the post-deploy watch sees it
// turn unhealthy.
const turnsUnhealthyPy = `
SERVED = [0]
_orig = H.do_GET
def do_GET(self):
    SERVED[0] += 1
    if SERVED[0] > 1:
        global MODE
        MODE = "unhealthy"
    _orig(self)
H.do_GET = do_GET
`

// The post-deploy watch (health.watch): a release that fails after going
// live is rolled back by the agent, the result says the watch decided it
// and the release is marked bad; --no-watch leaves the watch out.
func TestWatchRollsBackAReleaseThatTurnsUnhealthy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	watched := strings.Replace(f.configText(""), "  interval: 200ms\n", "  interval: 200ms\n  watch: 3s\n  watch_failures: 2\n", 1)
	f.write("ferry.yml", watched)
	good := f.commit("watch for 3s")
	r := f.ferry("deploy", "test", "--json")
	if r.code != 0 {
		t.Fatalf("a healthy release with a watch: %s", r)
	}
	if steps := stepList(decodeDeploy(t, r)); !strings.Contains(steps, "health:ok") || !strings.Contains(steps, "watch:ok prune") {
		t.Fatalf("steps %s: want health:ok watch:ok", steps)
	}

	f.write("app.py", strings.Replace(appPy, "print(\"listening\"", turnsUnhealthyPy+"print(\"listening\"", 1))
	f.commit("healthy once, then not")
	r = f.ferry("deploy", "test", "--json")
	if r.code != 3 {
		t.Fatalf("a release that turns unhealthy must be rolled back (exit 3): %s", r)
	}
	d := decodeDeploy(t, r)
	res := d.Targets[0].Result
	if d.Outcome != "rolled_back" || !strings.Contains(stepList(d), "health:ok") || !strings.Contains(stepList(d), "watch:failed") || !strings.HasPrefix(res.Error, "watch: 2 failed health checks in a row") {
		t.Fatalf("outcome %s, steps %s, error %q", d.Outcome, stepList(d), res.Error)
	}
	if got := f.health(); got != good {
		t.Fatalf("after the watch's rollback %q answers, want %s", got, good)
	}
	if st := f.releaseStatus(res.Release); st != "bad" {
		t.Fatalf("the watched release is %s, want bad", st)
	}
	if !strings.Contains(r.err, "watching http://127.0.0.1:") {
		t.Errorf("no progress from the watch:\n%s", r.err)
	}

	// A person in a hurry: no watch, and the release stays.
	r = f.ferry("deploy", "test", "--json", "--no-watch")
	if r.code != 0 || !strings.Contains(stepList(decodeDeploy(t, r)), "watch:skipped") {
		t.Fatalf("--no-watch: %s", r)
	}
}

func stepList(d deployJSON) string {
	var s []string
	for _, st := range d.Targets[0].Result.Steps {
		s = append(s, st.Name+":"+st.Status)
	}
	return strings.Join(s, " ")
}
