package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type deployJSON struct {
	Environment  string `json:"environment"`
	SHA          string `json:"sha"`
	Outcome      string `json:"outcome"`
	GatesSkipped bool   `json:"gates_skipped"`
	Targets      []struct {
		Result struct {
			Release    string   `json:"release"`
			VenvReused bool     `json:"venv_reused"`
			LogTail    []string `json:"log_tail"`
			Error      string   `json:"error"`
			Steps      []struct {
				Name, Status string
				DurationMS   int64 `json:"duration_ms"`
			} `json:"steps"`
		} `json:"result"`
	} `json:"targets"`
}

// decodeDeploy reads the result of a deploy's --json envelope, whose
// exit_code must be the process's.
func decodeDeploy(t *testing.T, r run) deployJSON {
	t.Helper()
	var env struct {
		ExitCode int        `json:"exit_code"`
		Result   deployJSON `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.out), &env); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, r)
	}
	if env.ExitCode != r.code {
		t.Fatalf("the envelope says exit %d, the process %d", env.ExitCode, r.code)
	}
	return env.Result
}

func TestDeployLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sha1 := f.git("rev-parse", "HEAD")

	// First deploy: fetch, new venv, pip install of the local wheel, start, health.
	r := f.ferry("deploy", "--json") // no ENV: branch main selects "test"
	if r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	d := decodeDeploy(t, r)
	if d.Environment != "test" || d.SHA != sha1 || d.Outcome != "deployed" {
		t.Fatalf("first deploy result: %+v", d)
	}
	res := d.Targets[0].Result
	if res.VenvReused {
		t.Fatal("first deploy cannot reuse a venv")
	}
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Name+":"+s.Status)
	}
	want := "lock:ok fetch:ok venv:ok install:ok link:skipped before_switch:skipped stop:skipped switch:ok start:ok health:ok writes:skipped after_healthy:skipped watch:skipped prune:skipped"
	if strings.Join(names, " ") != want {
		t.Fatalf("steps = %s, want %s", strings.Join(names, " "), want)
	}
	if got := f.health(); got != sha1 {
		t.Fatalf("app answers version %q, want %s", got, sha1)
	}
	first := res.Release
	if link, _ := os.Readlink(filepath.Join(f.root, "current")); link != filepath.Join("releases", first) {
		t.Fatalf("current -> %q, want releases/%s", link, first)
	}
	if !strings.Contains(r.err, "✓ install") || !strings.Contains(r.err, "✓ health") {
		t.Fatalf("progress lacks steps:\n%s", r.err)
	}

	// Second deploy, code change only: the venv is reused.
	f.write("extra.py", "X = 1\n")
	sha2 := f.commit("code only")
	r = f.ferry("deploy", "test", "--json")
	if r.code != 0 {
		t.Fatalf("second deploy: %s", r)
	}
	d = decodeDeploy(t, r)
	if !d.Targets[0].Result.VenvReused {
		t.Fatalf("unchanged requirements must reuse the venv: %s", r)
	}
	if got := f.health(); got != sha2 {
		t.Fatalf("after second deploy version %q, want %s", got, sha2)
	}
	st := f.state()
	if st.Releases[len(st.Releases)-1].Venv != st.Releases[0].Venv {
		t.Fatal("venv key changed with unchanged requirements")
	}

	// Third deploy, changed requirements: a new venv with greet 2.0.0.
	f.write("requirements.txt", "greet==2.0.0\n")
	sha3 := f.commit("bump greet")
	r = f.ferry("deploy", "test", "--json")
	if r.code != 0 {
		t.Fatalf("third deploy: %s", r)
	}
	if decodeDeploy(t, r).Targets[0].Result.VenvReused {
		t.Fatal("changed requirements must make a new venv")
	}
	st = f.state()
	if st.Releases[len(st.Releases)-1].Venv == st.Releases[0].Venv {
		t.Fatal("venv key unchanged after requirements changed")
	}
	if got := f.health(); got != sha3 {
		t.Fatalf("after third deploy version %q, want %s", got, sha3)
	}

	// Status and releases read it back.
	r = f.ferry("status", "test")
	if r.code != 0 || !strings.Contains(r.out, sha3[:12]) || !strings.Contains(r.out, "healthy") || !strings.Contains(r.out, "Ada Tester") || !strings.Contains(r.out, "running, pid") {
		t.Fatalf("status: %s", r)
	}
	r = f.ferry("releases", "test")
	if r.code != 0 || strings.Count(r.out, "healthy") != 3 {
		t.Fatalf("releases: %s", r)
	}

	// Manual rollback to the previous release: no reinstall, health-checked.
	r = f.ferry("rollback", "test", "--json")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	if got := f.health(); got != sha2 {
		t.Fatalf("after rollback version %q, want %s", got, sha2)
	}
	for _, s := range decodeDeploy(t, r).Targets[0].Result.Steps {
		if s.Name == "install" || s.Name == "fetch" {
			t.Fatalf("rollback ran %s", s.Name)
		}
	}
	// The release rolled back from is bad now, with who said so: the next
	// plain rollback goes further back instead of flipping forward to it.
	st = f.state()
	for _, rel := range st.Releases {
		if rel.SHA == sha3 && (rel.Status != "bad" || !strings.Contains(rel.Reason, "rolled back by Ada Tester")) {
			t.Fatalf("the release rolled back from is %s (%q), want bad, rolled back by Ada Tester", rel.Status, rel.Reason)
		}
	}
	r = f.ferry("rollback", "test")
	if r.code != 0 || f.health() != sha1 {
		t.Fatalf("second rollback: %s (health %q, want %s)", r, f.health(), sha1[:12])
	}
	// A person may still name it: it was healthy once, and proves it again.
	r = f.ferry("rollback", "test", "--to", sha3[:10])
	if r.code != 0 || f.health() != sha3 {
		t.Fatalf("rollback --to the release rolled back from: %s (health %q)", r, f.health())
	}
	st = f.state()
	for _, rel := range st.Releases {
		if rel.SHA == sha3 && rel.Status != "healthy" {
			t.Fatalf("a release named again and healthy is %s (%q)", rel.Status, rel.Reason)
		}
	}
}

func TestBrokenReleaseRollsBack(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"crash", "unhealthy"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			good := f.git("rev-parse", "HEAD")
			if r := f.ferry("deploy", "test"); r.code != 0 {
				t.Fatalf("good deploy: %s", r)
			}
			if mode == "unhealthy" {
				f.write("ferry.yml", strings.Replace(f.configText(""), "deadline: 2m", "deadline: 2s", 1))
			}
			f.setMode(mode)
			r := f.ferry("deploy", "test", "--json")
			if r.code != 3 {
				t.Fatalf("broken deploy must exit 3 (rolled back): %s", r)
			}
			d := decodeDeploy(t, r)
			if d.Outcome != "rolled_back" {
				t.Fatalf("outcome %q", d.Outcome)
			}
			if got := f.health(); got != good {
				t.Fatalf("old release must answer again: version %q, want %s", got, good)
			}
			bad := d.Targets[0].Result.Release
			if f.releaseStatus(bad) != "bad" {
				t.Fatalf("failed release status %q, want bad", f.releaseStatus(bad))
			}
			if _, err := os.Stat(filepath.Join(f.root, "releases", bad)); err != nil {
				t.Fatalf("failed release directory must be kept: %v", err)
			}
			if mode == "crash" && !strings.Contains(strings.Join(d.Targets[0].Result.LogTail, "\n"), "RuntimeError: boom at startup") {
				t.Fatalf("log tail lacks the app's error: %q", d.Targets[0].Result.LogTail)
			}
			if st := f.state(); st.Previous != bad || f.releaseStatus(st.Current) != "healthy" {
				t.Fatalf("state after rollback: %+v", st)
			}
		})
	}
}

func TestFirstDeployThatFailsLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.setMode("crash")
	r := f.ferry("deploy", "test")
	if r.code != 1 {
		t.Fatalf("a failed first deploy must exit 1: %s", r)
	}
	if !strings.Contains(r.err, "boom at startup") || !strings.Contains(r.err, "first deploy") {
		t.Fatalf("stderr should show the log tail and say why nothing serves:\n%s", r.err)
	}
	if _, err := os.Lstat(filepath.Join(f.root, "current")); !os.IsNotExist(err) {
		t.Fatalf("current must not point at a failed first release: %v", err)
	}
	if f.state().Current != "" {
		t.Fatal("state names a current release after a failed first deploy")
	}
}
