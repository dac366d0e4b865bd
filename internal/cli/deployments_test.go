package cli_test

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/testing/githubtest"
)

// In GitHub Actions with a token, ferry deploy and ferry rollback record
// GitHub Deployments against the API (the fake checks each request's
// shape): in_progress, then success with the environment and run URLs,
// failure for a deploy that rolled back, inactive for the deployment a
// success replaced; with FERRY_GITHUB_DEPLOYMENT=actions, none.
func TestGitHubDeployments(t *testing.T) {
	t.Parallel()
	gh := githubtest.New(t)
	cfg := strings.Replace(fakeConfig, "url: http://127.0.0.1:8080/health", "url: https://testapp.example.com/health", 1)
	dir, sha := fakeProject(t, cfg)
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": githubtest.Token, "GITHUB_API_URL": gh.URL, "GITHUB_REF_NAME": "main",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/testapp", "GITHUB_RUN_ID": "7",
	}
	runURL := "https://github.com/acme/testapp/actions/runs/7"

	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "test"); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	ds := gh.Deployments()
	if len(ds) != 1 {
		t.Fatalf("deployments %+v, want 1", ds)
	}
	d := ds[0]
	if d.Ref != sha || d.Environment != "test" || d.Task != "deploy" || d.AutoMerge || len(d.RequiredContexts) != 0 || !d.Production {
		t.Errorf("deployment %+v", d)
	}
	if got := states(d); got != "in_progress success" {
		t.Errorf("statuses %q, want in_progress success", got)
	}
	last := d.Statuses[len(d.Statuses)-1]
	if last.EnvironmentURL != "https://testapp.example.com/" || last.LogURL != runURL {
		t.Errorf("success status %+v: want the environment and run URLs", last)
	}

	// A second success makes the first inactive (production: GitHub
	// does not do it itself).
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "test"); r.code != 0 {
		t.Fatalf("second deploy: %s", r)
	}
	ds = gh.Deployments()
	if len(ds) != 2 || !strings.HasSuffix(states(ds[0]), "inactive") || states(ds[1]) != "in_progress success" {
		t.Errorf("after a second deploy: %v / %v", states(ds[0]), states(ds[len(ds)-1]))
	}

	// A deploy that rolled back is a failure.
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeRolledBack)), "deploy", "test"); r.code != 3 {
		t.Fatalf("rolled-back deploy: %s", r)
	}
	ds = gh.Deployments()
	if got := states(ds[len(ds)-1]); got != "in_progress failure" {
		t.Errorf("a rolled-back deploy's statuses %q, want in_progress failure", got)
	}

	// ferry rollback records a rollback.
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "rollback", "test"); r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	ds = gh.Deployments()
	if d := ds[len(ds)-1]; d.Task != "rollback" || states(d) != "in_progress success" {
		t.Errorf("rollback deployment %+v (%s)", d, states(d))
	}

	// The generated workflows' jobs have an environment: no second one.
	n := len(gh.Deployments())
	env["FERRY_GITHUB_DEPLOYMENT"] = "actions"
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "test", "--json"); r.code != 0 || !strings.Contains(r.out, `"name": "github"`) {
		t.Fatalf("deploy with FERRY_GITHUB_DEPLOYMENT=actions: %s", r)
	}
	if len(gh.Deployments()) != n {
		t.Errorf("FERRY_GITHUB_DEPLOYMENT=actions made a deployment")
	}

	// GitHub failing is a warning, never a failed deploy.
	delete(env, "FERRY_GITHUB_DEPLOYMENT")
	gh.FailNext("POST /repos/acme/testapp/deployments", 500)
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "test"); r.code != 0 || !strings.Contains(r.err, "warning: ") {
		t.Errorf("a GitHub error must warn and deploy: %s", r)
	}
}

func states(d githubtest.Deployment) string {
	var s []string
	for _, st := range d.Statuses {
		s = append(s, st.State)
	}
	return strings.Join(s, " ")
}
