package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/githubtest"
	"github.com/ferryhq/ferry/internal/workflows"
)

// ferry init in a fresh repository of examples/hello writes ferry.yml and
// the four workflows, each lint-clean; --github sets up the environments
// through the REST API (the fake checks every request), --dry-run prints
// the requests and sends none of the writes.
func TestInitWithGitHub(t *testing.T) {
	t.Parallel()
	need(t, "git")
	dir := filepath.Join(t.TempDir(), "hello")
	for _, f := range []string{"app.py", "requirements.txt", "tests/test_app.py"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "hello", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	f := &fixture{t: t, dir: dir}
	f.git("init", "-q", "-b", "master")
	gh := githubtest.New(t)
	gh.AddUser("alice", 501)
	gh.AddTeam("acme", "ops", 77)
	env := map[string]string{"GITHUB_TOKEN": githubtest.Token, "GITHUB_API_URL": gh.URL}

	r := ferryIn(t, dir, env, "init", "--region", "eu-west-1", "--bucket", "hello-deploy", "--tags", "Role=hello",
		"--github", "--repo", "acme/hello", "--reviewers", "alice,acme/ops", "--wait-timer", "10", "--dry-run")
	if r.code != 0 || !strings.Contains(r.out, "PUT /repos/acme/hello/environments/production") {
		t.Fatalf("init --github --dry-run: %s", r)
	}
	if _, ok := gh.Environment("production"); ok {
		t.Error("--dry-run created an environment")
	}
	if _, err := os.Stat(filepath.Join(dir, "ferry.yml")); err == nil {
		t.Error("--dry-run wrote ferry.yml")
	}

	r = ferryIn(t, dir, env, "init", "--region", "eu-west-1", "--bucket", "hello-deploy", "--tags", "Role=hello",
		"--github", "--repo", "acme/hello", "--reviewers", "alice,acme/ops", "--wait-timer", "10")
	if r.code != 0 {
		t.Fatalf("init --github: %s", r)
	}
	prod, ok := gh.Environment("production")
	if !ok || prod.WaitTimer != 10 || len(prod.Reviewers) != 2 || len(prod.Policies) != 1 || prod.Policies[0].Name != "master" ||
		prod.Variables[workflows.VarRegion] != "eu-west-1" || prod.ProtectedBranches || !prod.CustomBranchPolicies {
		t.Errorf("production: %+v", prod)
	}
	dev, ok := gh.Environment("development")
	if !ok || len(dev.Reviewers) != 0 || len(dev.Policies) != 1 || dev.Policies[0].Name != "dev" {
		t.Errorf("development: %+v", dev)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "ferry.yml"))
	for _, want := range []string{"app: hello\n", "start: python app.py\n", "url: http://127.0.0.1:8000/health", "root: 'C:\\Apps\\hello'", "Role: hello"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("ferry.yml lacks %q:\n%s", want, cfg)
		}
	}
	if r := ferryIn(t, dir, nil, "lint"); r.code != 0 {
		t.Errorf("the written workflows do not lint clean: %s", r)
	}
	if r := ferryIn(t, dir, nil, "init", "--check"); r.code != 0 {
		t.Errorf("init --check right after init: %s", r)
	}
}

// TestInitOnTheFlaskFactoryExample: ferry init on an app factory with
// SQLite in instance/ and an uploads folder proposes a waitress start
// command that calls the factory and shares both folders.
func TestInitOnTheFlaskFactoryExample(t *testing.T) {
	t.Parallel()
	need(t, "git")
	dir := filepath.Join(t.TempDir(), "flaskr")
	for _, f := range []string{"pyproject.toml", "flaskr/__init__.py", "flaskr/db.py"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "flask-factory", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.MkdirAll(filepath.Join(dir, "uploads"), 0o755)
	f := &fixture{t: t, dir: dir}
	f.git("init", "-q", "-b", "master")
	r := ferryIn(t, dir, nil, "init", "--region", "eu-west-1", "--bucket", "flaskr-deploy", "--tags", "Role=flaskr", "--dry-run")
	if r.code != 0 {
		t.Fatalf("init --dry-run: %s", r)
	}
	for _, want := range []string{"shared: [instance, uploads]", "--call flaskr:create_app"} {
		if !strings.Contains(r.out+r.err, want) {
			t.Errorf("init does not propose %q:\n%s", want, r)
		}
	}
}
