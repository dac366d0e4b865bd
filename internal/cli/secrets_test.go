package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
)

// The secrets planted in ferry.yml: a variable's value, the token of the
// index URL, the password of the health URL.
var planted = []string{"planted-var-s3cret-9f2c", "planted-pip-t0ken-77", "planted-health-pw-31"}

const secretConfig = `app: testapp
env:
  PORT: "8080"
  API_TOKEN: planted-var-s3cret-9f2c
pip:
  index_url: https://deploy:planted-pip-t0ken-77@pypi.example.com/simple
health:
  url: http://probe:planted-health-pw-31@127.0.0.1:8080/health
` + gatesOff + `environments:
  test:
    target: local
    branch: main
    root: srv
`

// echoing is a fake whose servers repeat the secrets of their spec
// everywhere an agent's answer can carry text: the error, hints,
// warnings, the log tail, the health note, each release's recorded run.
func echoing(outcome string) *faketransport.Transport {
	return &faketransport.Transport{Targets: []string{"i-0a", "i-0b"}, Answer: func(_ string, spec agent.Spec) agent.Result {
		out := outcome
		if spec.Op != agent.OpApply && spec.Op != agent.OpRollback {
			out = agent.OutcomeOK
		}
		res := faketransport.Result(spec, out)
		says := "API_TOKEN=" + spec.Vars["API_TOKEN"] + " index " + spec.Pip.IndexURL + " health " + spec.Health.URL
		if res.ExitCode != 0 {
			res.Error += "; " + says
			res.Hints = append(res.Hints, "check "+spec.Health.URL)
		}
		res.Warnings = append(res.Warnings, "pip said: "+says)
		res.LogTail = append(res.LogTail, says)
		for i := range res.Releases {
			run := *res.Releases[i].Run
			run.Vars, run.Health.URL = spec.Vars, spec.Health.URL
			res.Releases[i].Run = &run
		}
		if res.Status != nil {
			res.Status.HealthNote = "200 from " + spec.Health.URL
		}
		return res
	}}
}

// Item 9 of the hardening issue, ferry's outputs: whatever a server
// answers, the planted secrets appear nowhere ferry writes (stdout and
// stderr of every command, text and --json, debug lines, errors and
// hints, the job summary, the report files); the variables' names stay.
func TestSecretsNeverInFerrysOutput(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, secretConfig)
	summary := filepath.Join(t.TempDir(), "summary.md")
	actions := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "FERRY_DEBUG": "1"}
	var all strings.Builder
	for _, c := range []struct {
		outcome string
		env     map[string]string
		args    []string
	}{
		{agent.OutcomeRolledBack, nil, []string{"deploy", "test"}},
		{agent.OutcomeRolledBack, actions, []string{"deploy", "test"}},
		{agent.OutcomeRolledBack, nil, []string{"deploy", "test", "--json"}},
		{agent.OutcomeFailed, actions, []string{"deploy", "test", "--json"}},
		{agent.OutcomeDeployed, nil, []string{"deploy", "test"}},
		{agent.OutcomeRollbackFailed, nil, []string{"rollback", "test"}},
		{agent.OutcomeOK, nil, []string{"status", "test"}},
		{agent.OutcomeOK, nil, []string{"status", "test", "--json"}},
		{agent.OutcomeOK, nil, []string{"releases", "test"}},
		{agent.OutcomeOK, nil, []string{"releases", "test", "--json"}},
		{agent.OutcomeOK, actions, []string{"check", "--junit", "gates.xml", "--sarif", "gates.sarif"}},
		{agent.OutcomeOK, nil, []string{"check", "--json"}},
		{agent.OutcomeOK, nil, []string{"validate", "--json"}},
	} {
		r := ferryWith(t, dir, c.env, withFake(echoing(c.outcome)), c.args...)
		all.WriteString(r.String())
		// An agent that records variables' values in its releases (before
		// the agent's hardening) has them listed by name, every value hidden.
		if strings.Contains(strings.Join(c.args, " "), "releases test --json") && strings.Contains(r.out, `"env": {`) && (!strings.Contains(r.out, `"API_TOKEN": "***"`) || !strings.Contains(r.out, `"PORT": "***"`)) {
			t.Errorf("the releases' variables are not listed by name with their values hidden:\n%s", r.out)
		}
	}
	// A ferry.yml whose mistake is in a URL with a password.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "ferry.yml"), []byte(strings.Replace(secretConfig, "url: http://probe", "url: ftp://probe", 1)+"  prod: {target: ssm, root: /srv/x, ssm: {region: eu-west-1, bucket: b-b-b, instance_ids: [i-0123456789abcdef0], source: git, repository: 'https://x:planted-var-s3cret-9f2c@git.example.com/a.git'}}\n"), 0o644)
	for _, args := range [][]string{{"validate"}, {"validate", "--json"}, {"deploy", "prod", "--json"}} {
		r := ferryIn(t, bad, nil, args...)
		if r.code != 2 {
			t.Errorf("the bad file is not refused: %s", r)
		}
		all.WriteString(r.String())
	}
	for _, f := range []string{summary, filepath.Join(dir, "gates.xml"), filepath.Join(dir, "gates.sarif")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("ferry did not write %s: %v", f, err)
		}
		all.WriteString(string(b))
	}
	out := all.String()
	for _, p := range planted {
		if i := strings.Index(out, p); i >= 0 {
			t.Errorf("%s is in ferry's output: …%s…", p, out[max(0, i-300):min(len(out), i+40)])
		}
	}
	for _, want := range []string{"API_TOKEN", "https://deploy:***@pypi.example.com/simple", "http://probe:***@127.0.0.1:8080/health", "API_TOKEN=***"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output never shows %q: names and redacted URLs stay", want)
		}
	}
}
