package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// The fast tests: what the CLI does with the servers' answers, through a
// fake transport that answers in microseconds. Only git runs for real
// (a deploy resolves a commit); no venv, no pip, no app.

// fakeConfig is a project whose gates are only the built-in env check,
// which needs no tool.
const fakeConfig = `app: testapp
env:
  PORT: "8080"
health:
  url: http://127.0.0.1:8080/health
` + gatesOff + `environments:
  test:
    target: local
    branch: main
    root: srv
`

// fakeProject is a repository with one commit of config (ferry.yml) and
// an app, by Ada on main; it returns the directory and the commit.
func fakeProject(t *testing.T, config string) (string, string) {
	t.Helper()
	need(t, "git")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("print('hello')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=Ada Tester", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("config", "user.name", "Ada Tester")
	git("add", "-A")
	git("commit", "-q", "-m", "first")
	return dir, git("rev-parse", "HEAD")
}

// withFake makes the factory use tr for every environment, and keep the
// records of ssm environments (which have no bucket here) in a directory
// beside the repository.
func withFake(tr transport.Transport) func(*cli.Factory) {
	return func(f *cli.Factory) {
		f.Transport = func(cli.Target) (transport.Transport, error) { return tr, nil }
		f.Records = fakeRecords
		f.AWS = noAWS
	}
}

// noAWS is the fakes' AWS: there is none (nothing reaches the SDK's
// loader, which would ask the instance metadata service).
func noAWS(context.Context, cli.Target) (*ssm.Services, error) {
	return nil, errors.New("no AWS in the fake tests")
}

// fakeRecords keeps every environment's records in a directory: local
// ones as ferry does, ssm ones under the working directory's
// .ferry-records/ENV (the fakes reach no bucket).
func fakeRecords(ctx context.Context, app string, t cli.Target, aws func() (*ssm.Services, error)) (*recordstore.Store, error) {
	if t.Env.Target == config.TargetSSM {
		return recordstore.NewDir(filepath.Join(t.WorkDir, ".ferry-records", t.Name)), nil
	}
	return cli.DefaultRecords(ctx, app, t, aws)
}

// answering is a fake whose servers all end with outcome.
func answering(outcome string, targets ...string) *faketransport.Transport {
	return &faketransport.Transport{Targets: targets, Answer: func(_ string, spec agent.Spec) agent.Result {
		return faketransport.Result(spec, outcome)
	}}
}

func mustContain(t *testing.T, r run, where, text string) {
	t.Helper()
	got := r.out
	if where == "stderr" {
		got = r.err
	}
	if !strings.Contains(got, text) {
		t.Errorf("%s lacks %q:\n%s", where, text, r)
	}
}

// TestExitCodeContract: each exit code, from the servers' outcome or
// from ferry's own refusal, with the outcome and the error in the
// envelope and on stderr.
func TestExitCodeContract(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		tr      *faketransport.Transport
		config  string
		args    []string
		code    int
		outcome string
		stderr  string
	}{
		{"deployed", answering(agent.OutcomeDeployed), fakeConfig, nil, 0, agent.OutcomeDeployed, "✓ deployed in 1.2s"},
		{"failed", answering(agent.OutcomeFailed), fakeConfig, nil, 1, agent.OutcomeFailed, "error: install: pip install failed"},
		{"usage", answering(agent.OutcomeDeployed), fakeConfig, []string{"prod"}, 2, "", `error: unknown environment "prod"`},
		{"rolled back", answering(agent.OutcomeRolledBack), fakeConfig, nil, 3, agent.OutcomeRolledBack, "RuntimeError: boom at startup"},
		{"rollback failed", answering(agent.OutcomeRollbackFailed), fakeConfig, nil, 4, agent.OutcomeRollbackFailed, "hint: nothing healthy serves"},
		{"locked", answering(agent.OutcomeLocked), fakeConfig, nil, 5, agent.OutcomeLocked, "hint: wait for it, or pass --lock-wait"},
		{"refused", answering(agent.OutcomeDeployed), strings.Replace(fakeConfig, "required: [PORT]", "required: [PORT, DATABASE_URL]", 1), []string{"test"}, 6, "refused", "deploy refused: blocking gate env failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := fakeProject(t, c.config)
			args := append(append([]string{"deploy"}, c.args...), "--json")
			r := ferryWith(t, dir, nil, withFake(c.tr), args...)
			if r.code != c.code {
				t.Fatalf("want exit %d: %s", c.code, r)
			}
			mustContain(t, r, "stderr", c.stderr)
			res := checkEnvelope(t, "deploy", r)
			if c.outcome == "" {
				if string(res) != "null" {
					t.Errorf("a usage error has no result: %s", res)
				}
				return
			}
			if !strings.Contains(string(res), fmt.Sprintf(`"outcome": %q`, c.outcome)) {
				t.Errorf("result outcome is not %s: %s", c.outcome, res)
			}
			if c.code == 6 && len(c.tr.Specs()) != 0 {
				t.Error("a refused deploy reached the transport")
			}
		})
	}
}

// The spec that reaches the transport: the exact commit, who deploys
// and the run, from the CI context ferry was given; the lock wait asked for.
func TestDeploySpecFromPlanAndCI(t *testing.T) {
	t.Parallel()
	dir, sha := fakeProject(t, fakeConfig)
	fake := answering(agent.OutcomeDeployed)
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_REF_NAME": "main",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "42"}
	r := ferryWith(t, dir, env, withFake(fake), "deploy", "--lock-wait", "90s")
	if r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	specs := fake.Specs()
	if len(specs) != 1 {
		t.Fatalf("want one spec, got %d", len(specs))
	}
	s := specs[0]
	if s.Op != agent.OpApply || s.SHA != sha || s.Environment != "test" || s.Deployer != "octocat" ||
		s.RunURL != "https://github.com/acme/app/actions/runs/42" || s.LockWait.Seconds() != 90 || s.Root != filepath.Join(dir, "srv") {
		t.Errorf("spec: %+v", s)
	}
	if s.Source.Kind != "git" || s.Source.URL == "" || s.Source.Subdir != "." {
		t.Errorf("source: %+v", s.Source)
	}

	r = ferryWith(t, dir, nil, withFake(fake), "rollback", "test", "--to", sha[:10], "--lock-wait", "1m")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	if s := fake.Specs()[1]; s.Op != agent.OpRollback || s.To != sha[:10] || s.LockWait.Minutes() != 1 || s.Deployer != "Ada Tester" {
		t.Errorf("rollback spec: %+v", s)
	}
	mustContain(t, r, "stderr", "Rolling test back to "+sha[:10])
}

// In GitHub Actions: steps grouped, warnings as workflow commands, a
// table in the job summary; no colours without a terminal.
func TestActionsSummaryAndGroups(t *testing.T) {
	t.Parallel()
	dir, sha := fakeProject(t, fakeConfig)
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
	fake := &faketransport.Transport{Targets: []string{"i-0a", "i-0b"}, Answer: func(target string, spec agent.Spec) agent.Result {
		res := faketransport.Result(spec, agent.OutcomeDeployed)
		if target == "i-0b" {
			res = faketransport.Result(spec, agent.OutcomeRolledBack)
			res.Warnings = []string{"50% of\nthe fleet"}
		}
		return res
	}}
	r := ferryWith(t, dir, env, withFake(fake), "deploy")
	if r.code != 3 {
		t.Fatalf("want exit 3: %s", r)
	}
	// One-line steps are plain lines, not groups of nothing.
	if strings.Contains(r.err, "::group::fetch") {
		t.Errorf("a group around a one-line step:\n%s", r.err)
	}
	for _, want := range []string{"✓ fetch", "::endgroup::", "::warning::50%25 of%0Athe fleet", "i-0a: deployed", "i-0b: rolled_back",
		"error: health: not healthy after 2s", "Quality gates on " + sha[:12]} {
		mustContain(t, r, "stderr", want)
	}
	if strings.Contains(r.err, "\x1b[") {
		t.Errorf("colours without a terminal:\n%q", r.err)
	}
	if strings.Contains(r.out, "is serving") {
		t.Errorf("a failed deploy claims to serve: %s", r)
	}
	b, err := os.ReadFile(summary)
	md := string(b)
	if err != nil || !strings.Contains(md, "### ⚠️ Deployment of testapp to test failed and was rolled back") ||
		!strings.Contains(md, "| Commit | `"+sha+"` |") ||
		!strings.Contains(md, "| i-0a | deployed and healthy |") || !strings.Contains(md, "| i-0b | failed after the switch and was rolled back") || !strings.Contains(md, "## ferry check: ✅ passed") {
		t.Errorf("step summary: %v\n%s", err, md)
	}
}

// The line that closes a good deploy: where the app serves, or, for a
// fleet, how many servers do.
func TestServingLine(t *testing.T) {
	t.Parallel()
	dir, sha := fakeProject(t, fakeConfig)
	r := ferryWith(t, dir, nil, withFake(answering(agent.OutcomeDeployed)), "deploy", "test", "--skip-gates")
	want := fmt.Sprintf("testapp %s is serving at http://127.0.0.1:8080/ (test, release 20260102T030405Z-%s)\n", sha[:12], sha[:12])
	if r.code != 0 || r.out != want {
		t.Fatalf("want stdout %q: %s", want, r)
	}
	mustContain(t, r, "stderr", "quality gates skipped (--skip-gates)")
	r = ferryWith(t, dir, nil, withFake(answering(agent.OutcomeDeployed, "i-0a", "i-0b")), "deploy", "test", "--skip-gates")
	if r.code != 0 || !strings.Contains(r.out, "is serving on 2 servers (test,") {
		t.Fatalf("fleet: %s", r)
	}
}

// ferry status prints each server's current and previous release,
// process and health; an unhealthy server exits 1.
func TestStatusOutput(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, fakeConfig)
	r := ferryWith(t, dir, nil, withFake(answering(agent.OutcomeOK)), "status", "test")
	if r.code != 0 {
		t.Fatalf("status: %s", r)
	}
	for _, want := range []string{"testapp · test · local\n", "  current   20260102T030405Z-fa4efa4efa4e  sha fa4efa4efa4e  by Ada Tester at ",
		"  previous  20260102T030405Z-000000000000", "  process   running, pid 4242\n", "  health    healthy: 200 from http://127.0.0.1:8000/health\n"} {
		mustContain(t, r, "stdout", want)
	}
	unhealthy := &faketransport.Transport{Targets: []string{"i-0a", "i-0b"}, Answer: func(target string, spec agent.Spec) agent.Result {
		if target == "i-0b" {
			return faketransport.Unhealthy(spec)
		}
		return faketransport.Result(spec, agent.OutcomeOK)
	}}
	r = ferryWith(t, dir, nil, withFake(unhealthy), "status", "test")
	if r.code != 1 || !strings.Contains(r.out, "  process   not running\n") || !strings.Contains(r.out, "  health    unhealthy: connection refused") {
		t.Fatalf("unhealthy status: %s", r)
	}
	if strings.Contains(r.err, "error:") {
		t.Errorf("the status explains itself; no error line: %s", r)
	}
	r = ferryWith(t, dir, nil, withFake(unhealthy), "status", "test", "--json")
	res := checkEnvelope(t, "status", r)
	if !strings.Contains(string(res), `"healthy": false`) || !strings.Contains(r.out, "i-0b is unhealthy: connection refused") {
		t.Errorf("unhealthy status in JSON: %s", r.out)
	}

	r = ferryWith(t, dir, nil, withFake(answering(agent.OutcomeOK)), "releases", "test")
	if r.code != 0 || !strings.Contains(r.out, "RELEASE") || !regexp.MustCompile(`(?m)^\*\s+20260102T030405Z-fa4efa4efa4e\s`).MatchString(r.out) {
		t.Fatalf("releases: %s", r)
	}
	r = ferryWith(t, dir, nil, withFake(answering(agent.OutcomeOK)), "unlock", "test")
	if r.code != 0 || !strings.Contains(r.out, "local: removed the lock held by Ada Tester (apply, pid 4242 on build-1) since ") {
		t.Fatalf("unlock: %s", r)
	}
}

// The runner's steps, in the --json result: each timed, a skip with its
// reason, and after a failure only the report, which has nothing to say
// when nothing was sent. FERRY_DEBUG=1 logs them on stderr.
func TestRunnerSteps(t *testing.T) {
	t.Parallel()
	steps := func(t *testing.T, command string, r run) string {
		t.Helper()
		var res struct {
			Steps []struct{ Name, Status, Detail string } `json:"steps"`
		}
		if err := json.Unmarshal(checkEnvelope(t, command, r), &res); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range res.Steps {
			out = append(out, s.Name+":"+s.Status+":"+s.Detail)
		}
		return strings.Join(out, " | ")
	}
	dir, _ := fakeProject(t, fakeConfig)
	r := ferryWith(t, dir, map[string]string{"FERRY_DEBUG": "1"}, withFake(answering(agent.OutcomeDeployed)), "deploy", "--skip-gates", "--json")
	if got, want := steps(t, "deploy", r), "plan:ok: | record-begin:ok: | gates:skipped:--skip-gates | policy:skipped:no windows, freezes or change calendars for test | "+
		"notify-start:skipped:no notify: channels in ferry.yml | github:skipped:not in GitHub Actions | transport:ok: | notify-end:skipped:no notify: channels in ferry.yml | record:ok: | report:ok:"; got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	mustContain(t, r, "stderr", "debug: step gates: skipped in ")
	refusing, _ := fakeProject(t, strings.Replace(fakeConfig, "required: [PORT]", "required: [PORT, DATABASE_URL]", 1))
	r = ferryWith(t, refusing, nil, withFake(answering(agent.OutcomeDeployed)), "deploy", "--json")
	want := "plan:ok: | record-begin:ok: | gates:failed:deploy refused: blocking gate env failed | policy:skipped:an earlier step failed | notify-start:skipped:an earlier step failed | " +
		"github:skipped:an earlier step failed | transport:skipped:an earlier step failed | notify-end:skipped:no notify: channels in ferry.yml | record:ok: | report:skipped:nothing was sent to the servers"
	if got := steps(t, "deploy", r); got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	if strings.Contains(r.err, "debug:") {
		t.Errorf("debug lines without FERRY_DEBUG:\n%s", r.err)
	}
	r = ferryWith(t, dir, nil, withFake(answering(agent.OutcomeRolledBack)), "rollback", "test", "--json")
	if got, want := steps(t, "rollback", r), "plan:ok: | record-begin:ok: | choose:skipped:one server: its agent picks the previous good release | github:skipped:not in GitHub Actions | "+
		"transport:failed:local: health: not healthy after 2s: connection refused; rolled back to the previous release | notify-end:skipped:no notify: channels in ferry.yml | record:ok: | report:ok:"; got != want {
		t.Errorf("rollback steps %q, want %q", got, want)
	}
}

// answeringExec is a fake server whose exec'd command exits with code.
func answeringExec(code int) *faketransport.Transport {
	return &faketransport.Transport{Answer: func(_ string, spec agent.Spec) agent.Result {
		r := faketransport.Result(spec, agent.OutcomeOK)
		r.Exec = &agent.ExecResult{Release: "20260101T000000Z-0123456789ab", Argv: spec.Command, ExitCode: code, Output: "ran\n"}
		return r
	}}
}
