package pipelinetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/workflows"
)

// TestPipeline pushes and dispatches the way a team would, in order, on
// one repository and one sandbox: a push to dev deploys development, a
// push to master deploys production, a failing test blocks the deploy,
// the rollback workflow rolls production back.
func TestPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline under act with a release snapshot (skipped with -short)")
	}
	h := newHarness(t)

	t.Run("push to dev deploys development", func(t *testing.T) {
		h.t = t
		sha := h.commit("dev", "a change on dev", map[string]string{"CHANGES.md": "dev change\n"})
		r := h.run("push", workflows.CICDPath, map[string]any{"ref": "refs/heads/dev"})
		h.checkGates(r, sha)
		h.checkDeployStarted(r, "development", sha)
		h.checkDoctor(r)
		h.checkDeployed(r, "development", sha)
	})

	t.Run("push to master deploys production", func(t *testing.T) {
		h.t = t
		h.gitIn(h.repo, "checkout", "-q", "-f", "master")
		h.gitIn(h.repo, "merge", "-q", "--no-edit", "dev")
		sha := h.gitIn(h.repo, "rev-parse", "HEAD")
		r := h.run("push", workflows.CICDPath, map[string]any{"ref": "refs/heads/master"})
		h.checkGates(r, sha)
		h.checkDeployStarted(r, "production", sha)
		h.checkDoctor(r)
		h.checkDeployed(r, "production", sha)
	})

	t.Run("a failing test blocks the deploy", func(t *testing.T) {
		h.t = t
		test, err := os.ReadFile(filepath.Join(h.repo, "tests", "test_app.py"))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := h.health("development")
		// The gates run inside ferry deploy, after the job made AWS
		// credentials: the app's tests must not see them.
		h.commit("dev", "break a test", map[string]string{"tests/test_app.py": string(test) +
			"\n\ndef test_broken():\n    assert 1 == 2, \"broken on purpose\"\n" +
			"\n\ndef test_no_deploy_credentials():\n    names = [k for k in os.environ\n             if k.startswith((\"AWS_SECRET\", \"ACTIONS_ID_TOKEN\"))]\n    assert not names\n"})
		r := h.run("push", workflows.CICDPath, map[string]any{"ref": "refs/heads/dev"})
		if r.Exit == 0 {
			t.Errorf("act succeeded with a failing test")
		}
		if s, ok := r.ran("ferry deploy"); !ok || s.OK {
			t.Errorf("ferry deploy: ran %v ok %v, want it refused", ok, s.OK)
		}
		if !strings.Contains(r.Output, "refused by policy: a blocking gate") || !strings.Contains(r.Output, "deploy refused: blocking gate tests failed") {
			t.Errorf("nothing says a blocking gate refused the deploy")
		}
		if !regexp.MustCompile(`::error [^:]*title=ferry tests`).MatchString(r.Output) {
			t.Errorf("no annotation for the failing gate")
		}
		if v, _ := h.health("development"); v != before {
			t.Errorf("development serves %q after a refused deploy, want %q still", v, before)
		}
		// The reports still go up: that is when people read them.
		if _, err := os.Stat(filepath.Join(h.uploads, "artifacts", "ferry-junit-1", "junit.xml")); err != nil {
			t.Errorf("JUnit report of the failing run: %v", err)
		} else if b, _ := os.ReadFile(filepath.Join(h.uploads, "artifacts", "ferry-junit-1", "junit.xml")); !strings.Contains(string(b), "test_broken") ||
			!regexp.MustCompile(`<testcase [^>]*name="[^"]*test_no_deploy_credentials"[^>]*(/>|>\s*</testcase>)`).Match(b) {
			t.Errorf("the JUnit report does not name the failing test, or test_no_deploy_credentials did not pass:\n%s", b)
		}
		for _, s := range r.Steps {
			if strings.Contains(s.Name, "ferry check") || strings.Contains(s.Job, "gates") {
				t.Errorf("the gates ran twice: %s [%s]", s.Name, s.Job)
			}
		}
		if !strings.Contains(r.Summary, "tests") {
			t.Errorf("the job summary does not show the gates:\n%s", r.Summary)
		}
	})

	t.Run("rollback from the Actions tab", func(t *testing.T) {
		h.t = t
		// Two releases in production, deployed the way a laptop would.
		h.gitIn(h.repo, "checkout", "-q", "-f", "master")
		first := h.gitIn(h.repo, "rev-parse", "HEAD")
		second := h.commit("master", "a second release", map[string]string{"CHANGES.md": "second release\n"})
		for _, sha := range []string{first, second} {
			if out, err := h.ferryCmd("deploy", "production", "--config", "ferry.yml", "--ref", sha, "--skip-gates"); err != nil {
				t.Fatalf("seed production with %s: %v\n%s", sha[:12], err, out)
			}
		}
		if v, err := h.health("production"); err != nil || v != second {
			t.Fatalf("production serves %q (%v), want %s", v, err, second)
		}

		r := h.run("workflow_dispatch", workflows.RollbackPath, map[string]any{
			"ref": "refs/heads/master", "inputs": map[string]any{"environment": "production", "to": ""},
		})
		if r.Exit != 0 {
			t.Fatalf("rollback workflow failed (exit %d)\n%s", r.Exit, r.Output)
		}
		if s, ok := r.ran("ferry rollback"); !ok || !s.OK {
			t.Errorf("ferry rollback step: ran %v ok %v", ok, s.OK)
		}
		if v, err := h.health("production"); err != nil || v != first {
			t.Errorf("after the rollback production serves %q (%v), want %s", v, err, first)
		}
		if !strings.Contains(r.Summary, "ferry rollback production (to the previous good release): succeeded.") {
			t.Errorf("the summary does not say what happened:\n%s", r.Summary)
		}
		h.checkCredentials("production")

		// And forward again to a named release, by SHA prefix.
		r = h.run("workflow_dispatch", workflows.RollbackPath, map[string]any{
			"ref": "refs/heads/master", "inputs": map[string]any{"environment": "production", "to": second[:12]},
		})
		if r.Exit != 0 {
			t.Fatalf("rollback --to failed (exit %d)", r.Exit)
		}
		if v, err := h.health("production"); err != nil || v != second {
			t.Errorf("after rolling to %s production serves %q (%v)", second[:12], v, err)
		}
		if !strings.Contains(r.Summary, "ferry rollback production (to "+second[:12]+"): succeeded.") {
			t.Errorf("the summary does not name the release:\n%s", r.Summary)
		}
	})
}

// checkGates: the gates ran once, inside ferry deploy, on the commit;
// SARIF and JUnit went up and the gates' table is in the job summary.
func (h *harness) checkGates(r result, sha string) {
	t := h.t
	t.Helper()
	if s, ok := r.ran("ferry deploy"); !ok || !s.OK {
		t.Fatalf("ferry deploy (which runs the gates): ran %v ok %v\n%s", ok, s.OK, r.Output)
	}
	for _, s := range r.Steps {
		if strings.Contains(s.Name, "ferry check") {
			t.Errorf("the gates ran twice: ferry check ran too [%s]", s.Job)
		}
	}
	if _, err := os.Stat(filepath.Join(h.uploads, "sarif", "ferry-check.sarif")); err != nil {
		t.Errorf("SARIF upload: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(h.uploads, "artifacts", "ferry-junit-1", "junit.xml")); err != nil || !strings.Contains(string(b), "<testsuite") {
		t.Errorf("JUnit artifact: %v", err)
	}
	if !strings.Contains(r.Summary, "tests") || !strings.Contains(r.Summary, "|") {
		t.Errorf("no gates table in the job summary:\n%s", r.Summary)
	}
	log, _ := os.ReadFile(filepath.Join(h.uploads, "checkout.log"))
	if !strings.Contains(string(log), "head="+sha) || strings.Contains(string(log), "persist-credentials=true") {
		t.Errorf("checkouts:\n%s\nwant %s, credentials never persisted", log, sha)
	}
}

// checkDeployStarted: the deploy job of env ran its steps up to ferry:
// the commit checked out, credentials for the environment's role, ferry
// installed from the mirror.
func (h *harness) checkDeployStarted(r result, env, sha string) {
	t := h.t
	t.Helper()
	for _, name := range []string{"AWS credentials", "set up ferry"} {
		var found bool
		for _, s := range r.Steps {
			if strings.Contains(s.Job, "deploy") && strings.Contains(s.Name, name) {
				found = true
				if !s.OK {
					t.Errorf("deploy step %q failed\n%s", s.Name, r.Output)
				}
			}
		}
		if !found {
			t.Errorf("the deploy job has no step %q\n%s", name, r.Output)
		}
	}
	if !strings.Contains(r.Output, "deploy to "+env) {
		t.Errorf("no job deploys to %s", env)
	}
	log, _ := os.ReadFile(filepath.Join(h.uploads, "checkout.log"))
	if !strings.Contains(string(log), "ref="+sha) {
		t.Errorf("the deploy job did not check out %s:\n%s", sha, log)
	}
	h.checkCredentials(env)
}

func (h *harness) checkCredentials(env string) {
	t := h.t
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.uploads, "credentials.log"))
	if err != nil || !strings.Contains(string(b), "role="+roleARN+" region="+h.sb.Region) {
		t.Errorf("credentials for %s: %s %v", env, b, err)
	}
}

// checkDoctor: ferry doctor passed in the deploy job, having asked STS,
// the bucket, the instances and each server.
func (h *harness) checkDoctor(r result) {
	t := h.t
	t.Helper()
	if s, ok := r.ran("ferry doctor"); !ok || !s.OK {
		t.Errorf("ferry doctor: ran %v ok %v", ok, s.OK)
	}
	out := regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(r.Output, "")
	for _, want := range []string{"✓ credentials: arn:aws:iam::", "✓ bucket writable", "✓ document: AWS-RunShellScript ran the read-only doctor command", "✓ root: ", "is ready to deploy to"} {
		if !strings.Contains(out, want) {
			t.Errorf("ferry doctor's output lacks %q", want)
		}
	}
}

// checkDeployed: the deploy step succeeded, the environment serves the
// commit, and the summary says so.
func (h *harness) checkDeployed(r result, env, sha string) {
	t := h.t
	t.Helper()
	if r.Exit != 0 {
		t.Errorf("act exited %d", r.Exit)
	}
	if s, ok := r.ran("ferry deploy"); !ok || !s.OK {
		t.Errorf("ferry deploy: ran %v ok %v", ok, s.OK)
	}
	if v, err := h.health(env); err != nil || v != sha {
		t.Errorf("%s serves %q (%v), want %s", env, v, err, sha)
	}
	if !strings.Contains(r.Summary, "ferry deploy "+env+" ("+sha+"): succeeded.") {
		t.Errorf("the summary does not say what happened:\n%s", r.Summary)
	}
}
