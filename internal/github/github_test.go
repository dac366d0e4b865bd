package github

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/testing/githubtest"
)

var repo = Repo{Owner: "acme", Name: "billing"}

func client(gh *githubtest.Server) *Client {
	c := New(githubtest.Token)
	c.BaseURL = gh.URL
	return c
}

func production() Environment {
	return Environment{
		Name: "production", WaitTimer: 10, PreventSelfReview: true,
		Reviewers: []Reviewer{{User: "alice"}, {Team: "acme/ops"}},
		Branches:  []string{"master"},
		Variables: map[string]string{"FERRY_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ferry-billing-production-deploy", "FERRY_AWS_REGION": "eu-west-1"},
	}
}

func development() Environment {
	return Environment{Name: "development", Branches: []string{"dev"}, Variables: map[string]string{"FERRY_AWS_REGION": "eu-west-1"}}
}

func TestEnsureEnvironments(t *testing.T) {
	gh := githubtest.New(t)
	gh.AddUser("alice", 101)
	gh.AddTeam("acme", "ops", 202)
	c := client(gh)
	ctx := context.Background()

	for _, e := range []Environment{production(), development()} {
		if err := c.EnsureEnvironment(ctx, repo, e); err != nil {
			t.Fatalf("EnsureEnvironment(%s): %v", e.Name, err)
		}
	}
	p, ok := gh.Environment("production")
	if !ok {
		t.Fatal("production was not created")
	}
	if p.WaitTimer != 10 || !p.PreventSelfReview || len(p.Reviewers) != 2 || p.Reviewers[0] != (githubtest.Reviewer{Type: "User", ID: 101}) || p.Reviewers[1] != (githubtest.Reviewer{Type: "Team", ID: 202}) {
		t.Errorf("production protection %+v", p)
	}
	if !p.BranchPolicy || p.ProtectedBranches || !p.CustomBranchPolicies || len(p.Policies) != 1 || p.Policies[0].Name != "master" || p.Policies[0].Type != "branch" {
		t.Errorf("production branch policy %+v", p)
	}
	if p.Variables["FERRY_AWS_REGION"] != "eu-west-1" || !strings.HasSuffix(p.Variables["FERRY_AWS_ROLE_ARN"], "production-deploy") {
		t.Errorf("production variables %v", p.Variables)
	}
	d, _ := gh.Environment("development")
	if len(d.Reviewers) != 0 || d.WaitTimer != 0 || len(d.Policies) != 1 || d.Policies[0].Name != "dev" {
		t.Errorf("development %+v", d)
	}

	// The body of the PUT, exactly as the issue has it.
	for _, r := range gh.Requests() {
		if r.Method == "PUT" && r.Path == "/repos/acme/billing/environments/production" {
			b, _ := json.Marshal(r.Body)
			want := `{"deployment_branch_policy":{"custom_branch_policies":true,"protected_branches":false},"prevent_self_review":true,"reviewers":[{"id":101,"type":"User"},{"id":202,"type":"Team"}],"wait_timer":10}`
			if string(b) != want {
				t.Errorf("PUT body\n%s\nwant\n%s", b, want)
			}
		}
	}

	// Again, with the branch changed and the region moved: the old policy
	// goes, the variable is updated, nothing is duplicated.
	before := len(gh.Requests())
	oldPolicy := p.Policies[0].ID
	e := production()
	e.Branches = []string{"main"}
	e.Variables["FERRY_AWS_REGION"] = "eu-central-1"
	if err := c.EnsureEnvironment(ctx, repo, e); err != nil {
		t.Fatal(err)
	}
	p, _ = gh.Environment("production")
	if len(p.Policies) != 1 || p.Policies[0].Name != "main" || p.Variables["FERRY_AWS_REGION"] != "eu-central-1" {
		t.Errorf("after the update: %+v", p)
	}
	var methods []string
	for _, r := range gh.Requests()[before:] {
		methods = append(methods, r.Method+" "+strings.TrimPrefix(r.Path, "/repos/acme/billing/environments/production"))
	}
	want := "GET /users/alice,GET /orgs/acme/teams/ops,PUT ,GET /deployment-branch-policies,DELETE /deployment-branch-policies/" + strconv.FormatInt(oldPolicy, 10) + ",POST /deployment-branch-policies,GET /variables/FERRY_AWS_REGION,PATCH /variables/FERRY_AWS_REGION,GET /variables/FERRY_AWS_ROLE_ARN"
	if got := strings.Join(methods, ","); got != want {
		t.Errorf("update requests\n%s\nwant\n%s", got, want)
	}

	// No branches: any branch may deploy (the policy is null), and the
	// custom policies are gone with it.
	e.Branches = nil
	if err := c.EnsureEnvironment(ctx, repo, e); err != nil {
		t.Fatal(err)
	}
	if p, _ = gh.Environment("production"); p.BranchPolicy || len(p.Policies) != 0 {
		t.Errorf("without branches: %+v", p)
	}
}

func TestEnsureEnvironmentErrors(t *testing.T) {
	gh := githubtest.New(t)
	c := client(gh)
	err := c.EnsureEnvironment(context.Background(), repo, production())
	if err == nil || !IsNotFound(err) || !strings.Contains(err.Error(), "look up reviewer alice") || len(fail.Hints(err)) == 0 {
		t.Errorf("unknown reviewer: %v (hints %v)", err, fail.Hints(err))
	}
	if len(gh.Requests()) != 1 {
		t.Errorf("requests after a failed lookup: %v", gh.Requests())
	}

	for name, e := range map[string]Environment{
		"timer":     {Name: "x", WaitTimer: 50000},
		"reviewers": {Name: "x", Reviewers: make([]Reviewer, 7)},
		"both":      {Name: "x", Reviewers: []Reviewer{{User: "a", Team: "b/c"}}},
		"team":      {Name: "x", Reviewers: []Reviewer{{Team: "ops"}}},
		"variable":  {Name: "x", Variables: map[string]string{"GITHUB_X": "y"}},
		"name":      {Name: ""},
	} {
		err := c.EnsureEnvironment(context.Background(), repo, e)
		if fail.Code(err) != exitcode.Usage || len(fail.Hints(fail.Problems(err)[0])) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDryRun(t *testing.T) {
	var out bytes.Buffer
	c := New("")
	c.BaseURL = "http://127.0.0.1:1" // nothing is sent: a request here would fail
	c.DryRun = &out
	if err := c.EnsureEnvironment(context.Background(), repo, production()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"GET /users/alice\n",
		"PUT /repos/acme/billing/environments/production\n  {\n    \"wait_timer\": 10,",
		"\"deployment_branch_policy\": {\n      \"protected_branches\": false,\n      \"custom_branch_policies\": true\n    }",
		"POST /repos/acme/billing/environments/production/deployment-branch-policies\n  {\n    \"name\": \"master\",\n    \"type\": \"branch\"\n  }",
		"POST /repos/acme/billing/environments/production/variables\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run lacks %q:\n%s", want, got)
		}
	}

	// With a token, reads go to GitHub and writes are only printed.
	gh := githubtest.New(t)
	gh.AddUser("alice", 101)
	gh.AddTeam("acme", "ops", 202)
	out.Reset()
	c = client(gh)
	c.DryRun = &out
	if err := c.EnsureEnvironment(context.Background(), repo, production()); err != nil {
		t.Fatal(err)
	}
	for _, r := range gh.Requests() {
		if r.Method != "GET" {
			t.Errorf("dry run sent %s %s", r.Method, r.Path)
		}
	}
	if !strings.Contains(out.String(), `"id": 101`) {
		t.Errorf("the dry run's PUT does not carry the looked-up ID:\n%s", out.String())
	}
	if _, ok := gh.Environment("production"); ok {
		t.Errorf("dry run created the environment")
	}
}

func deploymentOf(t *testing.T, gh *githubtest.Server, id int64) githubtest.Deployment {
	t.Helper()
	for _, d := range gh.Deployments() {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no deployment %d", id)
	return githubtest.Deployment{}
}

func states(d githubtest.Deployment) string {
	var s []string
	for _, st := range d.Statuses {
		s = append(s, st.State)
	}
	return strings.Join(s, ",")
}

const sha1, sha2 = "4e1eef70d3fe4e1eef70d3fe4e1eef70d3fe4e1e", "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a"

// TestDeploymentLifecycle: in progress, then success with the URL; in
// production the deployment replaced is marked inactive by ferry, because
// GitHub's auto_inactive leaves production alone.
func TestDeploymentLifecycle(t *testing.T) {
	gh := githubtest.New(t)
	c := client(gh)
	ctx := context.Background()
	req := DeploymentRequest{Environment: "production", SHA: sha1, Production: true, Description: "ferry deploy of 4e1eef7",
		EnvironmentURL: "https://billing.example.com", LogURL: "https://github.com/acme/billing/actions/runs/1"}

	first, warn := c.Track(ctx, repo, req)
	if warn != nil || first.ID() == 0 || first.Replaces() != 0 {
		t.Fatalf("first Track: %v id %d replaces %d", warn, first.ID(), first.Replaces())
	}
	if warn := first.Finish(ctx, Outcome{Success: true, Description: "deployed"}); warn != nil {
		t.Fatal(warn)
	}
	d := deploymentOf(t, gh, first.ID())
	if d.Ref != sha1 || d.AutoMerge || len(d.RequiredContexts) != 0 || !d.Production || d.Transient || d.Task != "deploy" || d.Environment != "production" {
		t.Errorf("deployment %+v", d)
	}
	if states(d) != "in_progress,success" || d.Statuses[1].EnvironmentURL != req.EnvironmentURL || d.Statuses[1].LogURL != req.LogURL {
		t.Errorf("statuses %+v", d.Statuses)
	}
	for _, r := range gh.Requests() {
		if r.Method == "POST" && r.Path == "/repos/acme/billing/deployments" {
			if r.Body["auto_merge"] != false || r.Body["required_contexts"] == nil || len(r.Body["required_contexts"].([]any)) != 0 ||
				r.Body["production_environment"] != true || r.Body["transient_environment"] != false || r.Body["environment"] != "production" {
				t.Errorf("create deployment body %v", r.Body)
			}
		}
	}

	second, warn := c.Track(ctx, repo, DeploymentRequest{Environment: "production", SHA: sha2, Production: true})
	if warn != nil || second.Replaces() != first.ID() {
		t.Fatalf("second Track: %v replaces %d, want %d", warn, second.Replaces(), first.ID())
	}
	second.Finish(ctx, Outcome{Success: true})
	if got := states(deploymentOf(t, gh, first.ID())); got != "in_progress,success,inactive" {
		t.Errorf("replaced production deployment: %s, want it marked inactive", got)
	}

	// A failed deploy: failure, and the serving deployment stays active.
	third, _ := c.Track(ctx, repo, DeploymentRequest{Environment: "production", SHA: sha1, Production: true})
	if third.Replaces() != second.ID() {
		t.Errorf("third replaces %d, want %d", third.Replaces(), second.ID())
	}
	third.Finish(ctx, Outcome{Description: "rolled back: the previous release serves"})
	if got := states(deploymentOf(t, gh, third.ID())); got != "in_progress,failure" {
		t.Errorf("failed deployment %s", got)
	}
	if got := states(deploymentOf(t, gh, second.ID())); got != "in_progress,success" {
		t.Errorf("serving deployment after a failure: %s", got)
	}
}

// TestDevelopmentReliesOnAutoInactive: outside production GitHub retires
// the old deployment itself; ferry does not post a second inactive.
func TestDevelopmentReliesOnAutoInactive(t *testing.T) {
	gh := githubtest.New(t)
	c := client(gh)
	ctx := context.Background()
	a, _ := c.Track(ctx, repo, DeploymentRequest{Environment: "development", SHA: sha1})
	a.Finish(ctx, Outcome{Success: true})
	b, _ := c.Track(ctx, repo, DeploymentRequest{Environment: "development", SHA: sha2})
	b.Finish(ctx, Outcome{Success: true})
	old := deploymentOf(t, gh, a.ID())
	if states(old) != "in_progress,success,inactive" || !old.Statuses[2].Auto {
		t.Errorf("old development deployment %+v", old.Statuses)
	}
	if deploymentOf(t, gh, b.ID()).Production {
		t.Errorf("development recorded as production")
	}
}

// TestGitHubTroubleIsAWarning: nothing GitHub answers fails a deploy.
func TestGitHubTroubleIsAWarning(t *testing.T) {
	gh := githubtest.New(t)
	c := client(gh)
	ctx := context.Background()
	gh.FailNext("POST /repos/acme/billing/deployments", 403)
	tr, warn := c.Track(ctx, repo, DeploymentRequest{Environment: "production", SHA: sha1, Production: true})
	if warn == nil || tr == nil || tr.ID() != 0 || !strings.Contains(warn.Error(), "the deploy itself is not affected") || !strings.Contains(warn.Error(), "403") {
		t.Fatalf("Track with a 403: %v", warn)
	}
	if w := tr.Finish(ctx, Outcome{Success: true}); w != nil {
		t.Errorf("Finish after a failed Track: %v", w)
	}
	var nilTracker *Tracker
	if w := nilTracker.Finish(ctx, Outcome{}); w != nil {
		t.Errorf("nil Tracker: %v", w)
	}

	tr, _ = c.Track(ctx, repo, DeploymentRequest{Environment: "production", SHA: sha1, Production: true})
	gh.FailNext("POST /repos/acme/billing/deployments/", 500)
	if w := tr.Finish(ctx, Outcome{Success: true}); w == nil {
		t.Errorf("Finish with a 500: no warning")
	}

	down := New(githubtest.Token)
	down.BaseURL = "http://127.0.0.1:1"
	tr, warn = down.Track(ctx, repo, DeploymentRequest{Environment: "production", SHA: sha1})
	if warn == nil || tr == nil {
		t.Errorf("GitHub unreachable: %v", warn)
	}
}

func TestParseRepo(t *testing.T) {
	for in, want := range map[string]string{
		"acme/billing": "acme/billing", "https://github.com/acme/billing.git": "acme/billing", "git@github.com:acme/billing.git": "acme/billing",
	} {
		r, err := ParseRepo(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRepo(%q) = %v, %v", in, r, err)
		}
	}
	for _, in := range []string{"billing", "a/b/c", "a/..", "", "a b/c"} {
		if _, err := ParseRepo(in); fail.Code(err) != exitcode.Usage {
			t.Errorf("ParseRepo(%q) accepted", in)
		}
	}
}
