package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/cli"
)

// TestGitHubActionsOutput: in Actions the branch comes from
// GITHUB_REF_NAME (HEAD is detached there), the deployer from
// GITHUB_ACTOR, each step is its one line (no group around it), and the
// job summary is the post-deployment notice in words.
func TestGitHubActionsOutput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.git("checkout", "-q", "--detach")
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "main", "GITHUB_ACTOR": "octocat",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_RUN_ID": "42",
		"GITHUB_STEP_SUMMARY": summary,
	}
	r := ferryIn(t, f.dir, env, "deploy")
	if r.code != 0 {
		t.Fatalf("deploy in Actions: %s", r)
	}
	if strings.Contains(r.err, "::group::fetch") || !regexp.MustCompile(`(?m)^  ✓ fetch `).MatchString(r.err) {
		t.Fatalf("a one-line step is grouped, or missing:\n%s", r.err)
	}
	if !strings.Contains(r.err, "::group::local: pip's log (shared/logs/pip-") || !strings.Contains(r.err, "::endgroup::") {
		t.Errorf("pip's log is not one group:\n%s", r.err)
	}
	if strings.Contains(r.err, "\x1b[") {
		t.Fatal("no colours in Actions logs without a terminal")
	}
	b, err := os.ReadFile(summary)
	for _, want := range []string{"### ✅ Deployment of testapp to test succeeded", "| Status | Deployed and healthy |", "| By | octocat |",
		"| Run | [https://github.com/acme/app/actions/runs/42](https://github.com/acme/app/actions/runs/42) |", "| local | deployed and healthy | ", "| health check | ok |"} {
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("the job summary lacks %q: %v\n%s", want, err, b)
		}
	}
	for _, internal := range []string{"apply", "| deployed |"} {
		if strings.Contains(string(b), internal) {
			t.Errorf("the job summary says %q, an internal name:\n%s", internal, b)
		}
	}
	out := ferryIn(t, f.dir, env, "status", "test")
	if !strings.Contains(out.out, "by octocat") {
		t.Fatalf("the deployer must be the Actions actor: %s", out)
	}
}

// sgr matches an ANSI colour sequence (cursor control is not colour).
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestColoursOnlyOnATerminal: NO_COLOR and --no-color win over a terminal.
func TestColoursOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ferry.yml"), []byte("app: x\nenvironments:\n  l: {}\n"), 0o644)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		colored bool
	}{
		{"terminal", map[string]string{}, nil, true},
		{"NO_COLOR", map[string]string{"NO_COLOR": "1"}, nil, false},
		{"--no-color", map[string]string{}, []string{"--no-color"}, false},
	} {
		var out, errb strings.Builder
		f := cli.NewFactory(cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, ErrIsTerminal: true, Getenv: func(k string) string { return tc.env[k] }})
		f.WorkDir = dir
		// status on a never-deployed root prints nothing coloured; use
		// rollback, whose failure summary is painted.
		args := append([]string{"rollback", "l"}, tc.args...)
		cli.Run(context.Background(), args, f)
		if got := sgr.MatchString(errb.String()); got != tc.colored {
			t.Errorf("%s: coloured=%v, want %v:\n%q", tc.name, got, tc.colored, errb.String())
		}
	}
}
