package githubtest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder keeps the fake's complaints instead of failing this test, so
// that the test can check the fake complains.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Helper() {}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.errs
	r.errs = nil
	return e
}

func send(t *testing.T, s *Server, method, path, body string, header map[string]string) int {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{
		"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
		"Authorization": "Bearer " + Token, "User-Agent": "test",
	}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	for k, v := range header {
		h[k] = v
	}
	for k, v := range h {
		// An empty User-Agent is sent as none (Go's client would add its own).
		if v != "" || k == "User-Agent" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRefusesWhatGitHubDoesNotDocument: each request off the documented
// shape fails the test that sent it (here: is recorded) and is refused.
func TestRefusesWhatGitHubDoesNotDocument(t *testing.T) {
	rec := &recorder{TB: t}
	s := New(rec)
	env := "/repos/acme/billing/environments/production"
	if code := send(t, s, "PUT", env, `{"wait_timer":5}`, nil); code != 200 || len(rec.take()) != 0 {
		t.Fatalf("a documented PUT was refused: %d", code)
	}
	for name, c := range map[string]struct {
		method, path, body string
		header             map[string]string
		want               string
	}{
		"endpoint":       {"POST", "/repos/acme/billing/environments", `{}`, nil, "no such endpoint"},
		"accept":         {"GET", "/users/alice", "", map[string]string{"Accept": "application/json"}, "Accept"},
		"version":        {"GET", "/users/alice", "", map[string]string{"X-GitHub-Api-Version": ""}, "X-GitHub-Api-Version"},
		"token":          {"GET", "/users/alice", "", map[string]string{"Authorization": "token x"}, "Authorization"},
		"agent":          {"GET", "/users/alice", "", map[string]string{"User-Agent": ""}, "User-Agent"},
		"unknown field":  {"PUT", env, `{"wait_timer":5,"reviewer":[]}`, nil, `unknown field "reviewer"`},
		"type":           {"PUT", env, `{"wait_timer":"5"}`, nil, "wait_timer is string"},
		"range":          {"PUT", env, `{"wait_timer":99999}`, nil, "not between"},
		"reviewer":       {"PUT", env, `{"reviewers":[{"type":"Person","id":1}]}`, nil, "not one of"},
		"reviewer id":    {"PUT", env, `{"reviewers":[{"type":"User","login":"alice"}]}`, nil, `unknown field "login"`},
		"both policies":  {"PUT", env, `{"deployment_branch_policy":{"protected_branches":true,"custom_branch_policies":true}}`, nil, "cannot both be true"},
		"half policy":    {"PUT", env, `{"deployment_branch_policy":{"custom_branch_policies":true}}`, nil, `"protected_branches" is missing`},
		"no ref":         {"POST", "/repos/acme/billing/deployments", `{"environment":"production"}`, nil, `"ref" is missing`},
		"state":          {"POST", "/repos/acme/billing/deployments/1/statuses", `{"state":"done"}`, nil, "not one of"},
		"description":    {"POST", "/repos/acme/billing/deployments/1/statuses", `{"state":"success","description":"` + strings.Repeat("x", 141) + `"}`, nil, "at most 140"},
		"content type":   {"POST", "/repos/acme/billing/deployments", `{"ref":"x"}`, map[string]string{"Content-Type": "text/plain"}, "Content-Type"},
		"body on a get":  {"GET", "/users/alice", `{"x":1}`, map[string]string{"Content-Type": "application/json"}, "takes no body"},
		"query":          {"GET", "/repos/acme/billing/deployments?state=success", "", nil, "query parameter"},
		"not json":       {"POST", env + "/variables", `name=x`, nil, "not a JSON object"},
		"variable value": {"POST", env + "/variables", `{"name":"X"}`, nil, `"value" is missing`},
	} {
		code := send(t, s, c.method, c.path, c.body, c.header)
		errs := rec.take()
		if code < 400 || len(errs) != 1 || !strings.Contains(errs[0], c.want) {
			t.Errorf("%s: answered %d, complaints %q, want one with %q", name, code, errs, c.want)
		}
	}
}

// TestState: what the fake keeps, as GitHub would.
func TestState(t *testing.T) {
	s := New(t)
	env := "/repos/acme/billing/environments/production"
	send(t, s, "PUT", env, `{"deployment_branch_policy":{"protected_branches":false,"custom_branch_policies":true}}`, nil)
	if code := send(t, s, "POST", env+"/deployment-branch-policies", `{"name":"master"}`, nil); code != 200 {
		t.Errorf("create policy: %d", code)
	}
	if code := send(t, s, "POST", env+"/deployment-branch-policies", `{"name":"master","type":"branch"}`, nil); code != http.StatusConflict {
		t.Errorf("duplicate policy: %d", code)
	}
	e, _ := s.Environment("production")
	if len(e.Policies) != 1 || e.Policies[0].Type != "branch" {
		t.Errorf("policies %+v", e.Policies)
	}
	// A deployment without required_contexts waits for every status
	// check, which the fake fails: GitHub's 409.
	if code := send(t, s, "POST", "/repos/acme/billing/deployments", `{"ref":"abc"}`, nil); code != http.StatusConflict {
		t.Errorf("deployment with default contexts: %d", code)
	}
	if code := send(t, s, "PUT", env, `{"reviewers":[{"type":"User","id":7}]}`, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("unknown reviewer: %d", code)
	}
}
