// Package githubtest is a local fake of the parts of GitHub's REST API
// (version 2022-11-28) that ferry uses: users and teams (for reviewer
// IDs), environments with their deployment branch policies and
// variables, deployments and their statuses. It keeps their state like
// GitHub does and checks every request against GitHub's documented
// shape — method and path, the Accept, X-GitHub-Api-Version,
// Authorization and User-Agent headers, each body field's name, type and
// allowed values — and fails the test on anything else: an unknown
// endpoint, an unknown or mistyped field, a missing required one.
//
// It serves on 127.0.0.1 only:
//
//	gh := githubtest.New(t)
//	gh.AddUser("alice", 101)
//	c := github.New(githubtest.Token); c.BaseURL = gh.URL
package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Token is the token the fake accepts.
const Token = "ghp_fake-token-for-tests"

// Request is one request the fake answered.
type Request struct {
	Method, Path string
	// Query is the raw query string.
	Query string
	// Body is the decoded JSON body (nil without one).
	Body map[string]any
}

// Reviewer is an environment's reviewer as stored.
type Reviewer struct {
	Type string
	ID   int64
}

// BranchPolicy is a deployment branch (or tag) policy.
type BranchPolicy struct {
	ID         int64
	Name, Type string
}

// Environment is an environment's state.
type Environment struct {
	Name                 string
	WaitTimer            int
	PreventSelfReview    bool
	Reviewers            []Reviewer
	ProtectedBranches    bool
	CustomBranchPolicies bool
	// BranchPolicy is false when deployment_branch_policy is null (any
	// branch may deploy).
	BranchPolicy bool
	Policies     []BranchPolicy
	Variables    map[string]string
}

// Status is one deployment status.
type Status struct {
	State, Description, Environment, EnvironmentURL, LogURL string
	// Auto is true for the inactive statuses the fake (like GitHub)
	// added itself because of auto_inactive.
	Auto bool
}

// Deployment is a deployment and its statuses, oldest first.
type Deployment struct {
	ID                          int64
	Ref, Task, Environment      string
	Description                 string
	AutoMerge                   bool
	RequiredContexts            []string
	Production, Transient       bool
	Statuses                    []Status
	requiredContextsWasExplicit bool
}

// Approval is one review of a workflow run's deployment, as
// GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals lists it.
type Approval struct {
	// State is approved or rejected.
	State        string
	Login        string
	Environments []string
}

// Server is the fake. Its state methods are safe to call while it serves.
type Server struct {
	*httptest.Server
	t testing.TB

	mu           sync.Mutex
	requests     []Request
	users        map[string]int64
	teams        map[string]int64
	environments map[string]*Environment
	deployments  []*Deployment
	approvals    map[int64][]Approval
	nextID       int64
	// FailNext, when set, answers the next matching request with this
	// status (for the warning paths); "METHOD /path-prefix".
	failNext map[string]int
}

// New starts the fake; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{t: t, users: map[string]int64{}, teams: map[string]int64{}, environments: map[string]*Environment{}, nextID: 1000, failNext: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AddUser makes a user that GET /users/{login} finds.
func (s *Server) AddUser(login string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(login)] = id
}

// AddTeam makes a team that GET /orgs/{org}/teams/{slug} finds.
func (s *Server) AddTeam(org, slug string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams[strings.ToLower(org+"/"+slug)] = id
}

// FailNext answers the next request whose method and path start with
// prefix ("POST /repos/acme/billing/deployments") with status.
func (s *Server) FailNext(prefix string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[prefix] = status
}

// Requests returns every request answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Environment returns an environment's state.
func (s *Server) Environment(name string) (Environment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.environments[name]
	if !ok {
		return Environment{}, false
	}
	c := *e
	c.Reviewers = append([]Reviewer(nil), e.Reviewers...)
	c.Policies = append([]BranchPolicy(nil), e.Policies...)
	c.Variables = map[string]string{}
	for k, v := range e.Variables {
		c.Variables[k] = v
	}
	return c, true
}

// Deployments returns every deployment, oldest first.
func (s *Server) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.deployments {
		c := *d
		c.Statuses = append([]Status(nil), d.Statuses...)
		out = append(out, c)
	}
	return out
}

// AddDeployment adds a deployment with statuses, as if an earlier deploy
// had made it; it returns its ID.
func (s *Server) AddDeployment(d Deployment) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	d.ID = s.nextID
	s.deployments = append(s.deployments, &d)
	return d.ID
}

// AddApproval records a review of run runID's deployment.
func (s *Server) AddApproval(runID int64, a Approval) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.approvals == nil {
		s.approvals = map[int64][]Approval{}
	}
	s.approvals[runID] = append(s.approvals[runID], a)
}

// route is one documented endpoint.
type route struct {
	method string
	path   *regexp.Regexp
	// body checks and applies the request; it returns the status and
	// the JSON answer.
	handle func(s *Server, m []string, q map[string][]string, body map[string]any) (int, any)
	// fields is the body's schema (nil: no body allowed).
	fields map[string]field
}

// field is one body field: its JSON type and, for strings, the allowed
// values; required fields must be present.
type field struct {
	kind     string // string, integer, boolean, array, object, string|null, array|null, object|null, object|string
	required bool
	enum     []string
	check    func(v any) string
}

var (
	seg    = `([^/]+)`
	routes = []route{
		{method: "GET", path: regexp.MustCompile(`^/users/` + seg + `$`), handle: (*Server).getUser},
		{method: "GET", path: regexp.MustCompile(`^/orgs/` + seg + `/teams/` + seg + `$`), handle: (*Server).getTeam},
		{method: "PUT", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `$`), handle: (*Server).putEnvironment, fields: map[string]field{
			"wait_timer":               {kind: "integer", check: between(0, 43200)},
			"prevent_self_review":      {kind: "boolean"},
			"reviewers":                {kind: "array|null", check: reviewersOK},
			"deployment_branch_policy": {kind: "object|null", check: branchPolicyOK},
		}},
		{method: "GET", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `/deployment-branch-policies$`), handle: (*Server).listPolicies},
		{method: "POST", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `/deployment-branch-policies$`), handle: (*Server).createPolicy, fields: map[string]field{
			"name": {kind: "string", required: true},
			"type": {kind: "string", enum: []string{"branch", "tag"}},
		}},
		{method: "DELETE", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `/deployment-branch-policies/([0-9]+)$`), handle: (*Server).deletePolicy},
		{method: "GET", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `/variables/` + seg + `$`), handle: (*Server).getVariable},
		{method: "POST", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `/variables$`), handle: (*Server).createVariable, fields: map[string]field{
			"name":  {kind: "string", required: true},
			"value": {kind: "string", required: true},
		}},
		{method: "PATCH", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/environments/` + seg + `/variables/` + seg + `$`), handle: (*Server).updateVariable, fields: map[string]field{
			"name":  {kind: "string"},
			"value": {kind: "string"},
		}},
		{method: "POST", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/deployments$`), handle: (*Server).createDeployment, fields: map[string]field{
			"ref":                    {kind: "string", required: true},
			"task":                   {kind: "string"},
			"auto_merge":             {kind: "boolean"},
			"required_contexts":      {kind: "array", check: stringsOnly},
			"payload":                {kind: "object|string"},
			"environment":            {kind: "string"},
			"description":            {kind: "string|null"},
			"transient_environment":  {kind: "boolean"},
			"production_environment": {kind: "boolean"},
		}},
		{method: "GET", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/deployments$`), handle: (*Server).listDeployments},
		{method: "POST", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/deployments/([0-9]+)/statuses$`), handle: (*Server).createStatus, fields: map[string]field{
			"state":           {kind: "string", required: true, enum: []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}},
			"target_url":      {kind: "string"},
			"log_url":         {kind: "string"},
			"description":     {kind: "string", check: maxLen(140)},
			"environment":     {kind: "string"},
			"environment_url": {kind: "string"},
			"auto_inactive":   {kind: "boolean"},
		}},
		{method: "GET", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/deployments/([0-9]+)/statuses$`), handle: (*Server).listStatuses},
		{method: "GET", path: regexp.MustCompile(`^/repos/` + seg + `/` + seg + `/actions/runs/([0-9]+)/approvals$`), handle: (*Server).listApprovals},
	}
	// queries are each GET endpoint's documented query parameters.
	queries = map[string][]string{
		"listDeployments": {"sha", "ref", "task", "environment", "per_page", "page"},
		"paged":           {"per_page", "page"},
	}
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	t := s.t
	t.Helper()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		if v != nil {
			json.NewEncoder(w).Encode(v)
		}
	}
	refuse := func(status int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		t.Errorf("githubtest: %s %s: %s", r.Method, r.URL.Path, msg)
		reply(status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	}
	if got := r.Header.Get("Accept"); got != "application/vnd.github+json" {
		refuse(http.StatusBadRequest, "Accept is %q, want application/vnd.github+json", got)
		return
	}
	if got := r.Header.Get("X-GitHub-Api-Version"); got != "2022-11-28" {
		refuse(http.StatusBadRequest, "X-GitHub-Api-Version is %q, want 2022-11-28", got)
		return
	}
	if r.Header.Get("User-Agent") == "" {
		refuse(http.StatusForbidden, "no User-Agent (GitHub refuses requests without one)")
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+Token {
		refuse(http.StatusUnauthorized, "Authorization is %q, want Bearer <token>", got)
		return
	}
	path := r.URL.EscapedPath()
	var rt *route
	var m []string
	for i := range routes {
		if routes[i].method != r.Method {
			continue
		}
		if mm := routes[i].path.FindStringSubmatch(path); mm != nil {
			rt, m = &routes[i], mm
			break
		}
	}
	if rt == nil {
		refuse(http.StatusNotFound, "no such endpoint in the documented API ferry uses")
		return
	}
	for i := range m {
		u, err := unescape(m[i])
		if err != nil {
			refuse(http.StatusBadRequest, "path segment %q: %v", m[i], err)
			return
		}
		m[i] = u
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if rt.fields == nil {
		if len(raw) > 0 {
			refuse(http.StatusBadRequest, "a %s takes no body, got %s", r.Method, raw)
			return
		}
	} else {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			refuse(http.StatusUnsupportedMediaType, "Content-Type is %q, want application/json", ct)
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			refuse(http.StatusBadRequest, "body is not a JSON object: %v", err)
			return
		}
		if problems := validate(rt.fields, body); len(problems) > 0 {
			refuse(http.StatusUnprocessableEntity, "body %s: %s", raw, strings.Join(problems, "; "))
			return
		}
	}
	q := r.URL.Query()
	allowed := queries["paged"]
	if strings.HasSuffix(rt.path.String(), `/deployments$`) && r.Method == "GET" {
		allowed = queries["listDeployments"]
	}
	for k := range q {
		if !contains(allowed, k) {
			refuse(http.StatusBadRequest, "query parameter %q is not documented here", k)
			return
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body})
	for prefix, status := range s.failNext {
		if strings.HasPrefix(r.Method+" "+r.URL.Path, prefix) {
			delete(s.failNext, prefix)
			s.mu.Unlock()
			reply(status, map[string]string{"message": "injected by the test"})
			return
		}
	}
	status, v := rt.handle(s, m, q, body)
	s.mu.Unlock()
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	reply(status, v)
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape")
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", err
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validate checks body against fields: no unknown field, required ones
// present, each of its documented type and values.
func validate(fields map[string]field, body map[string]any) []string {
	var problems []string
	names := make([]string, 0, len(body))
	for k := range body {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f, ok := fields[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown field %q", k))
			continue
		}
		v := body[k]
		if !ofKind(f.kind, v) {
			problems = append(problems, fmt.Sprintf("%s is %T, want %s", k, v, f.kind))
			continue
		}
		if len(f.enum) > 0 {
			if s, _ := v.(string); !contains(f.enum, s) {
				problems = append(problems, fmt.Sprintf("%s %q is not one of %v", k, v, f.enum))
			}
		}
		if f.check != nil && v != nil {
			if p := f.check(v); p != "" {
				problems = append(problems, k+": "+p)
			}
		}
	}
	for k, f := range fields {
		if _, ok := body[k]; f.required && !ok {
			problems = append(problems, fmt.Sprintf("required field %q is missing", k))
		}
	}
	return problems
}

func ofKind(kind string, v any) bool {
	for _, k := range strings.Split(kind, "|") {
		switch k {
		case "null":
			if v == nil {
				return true
			}
		case "string":
			if _, ok := v.(string); ok {
				return true
			}
		case "boolean":
			if _, ok := v.(bool); ok {
				return true
			}
		case "integer":
			if n, ok := v.(json.Number); ok {
				if _, err := n.Int64(); err == nil {
					return true
				}
			}
		case "array":
			if _, ok := v.([]any); ok {
				return true
			}
		case "object":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		}
	}
	return false
}

func between(lo, hi int64) func(any) string {
	return func(v any) string {
		n, _ := v.(json.Number).Int64()
		if n < lo || n > hi {
			return fmt.Sprintf("%d is not between %d and %d", n, lo, hi)
		}
		return ""
	}
}

func maxLen(n int) func(any) string {
	return func(v any) string {
		if l := len([]rune(v.(string))); l > n {
			return fmt.Sprintf("%d characters, at most %d", l, n)
		}
		return ""
	}
}

func stringsOnly(v any) string {
	for _, x := range v.([]any) {
		if _, ok := x.(string); !ok {
			return "holds a non-string"
		}
	}
	return ""
}

func reviewersOK(v any) string {
	list := v.([]any)
	if len(list) > 6 {
		return fmt.Sprintf("%d reviewers, at most 6", len(list))
	}
	for _, x := range list {
		r, ok := x.(map[string]any)
		if !ok {
			return "a reviewer is not an object"
		}
		if p := validate(map[string]field{
			"type": {kind: "string", required: true, enum: []string{"User", "Team"}},
			"id":   {kind: "integer", required: true},
		}, r); len(p) > 0 {
			return strings.Join(p, "; ")
		}
	}
	return ""
}

func branchPolicyOK(v any) string {
	p := v.(map[string]any)
	if probs := validate(map[string]field{
		"protected_branches":     {kind: "boolean", required: true},
		"custom_branch_policies": {kind: "boolean", required: true},
	}, p); len(probs) > 0 {
		return strings.Join(probs, "; ")
	}
	if p["protected_branches"] == true && p["custom_branch_policies"] == true {
		return "protected_branches and custom_branch_policies cannot both be true"
	}
	return ""
}

func notFound() (int, any) { return http.StatusNotFound, map[string]string{"message": "Not Found"} }

func (s *Server) getUser(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	id, ok := s.users[strings.ToLower(m[1])]
	if !ok {
		return notFound()
	}
	return http.StatusOK, map[string]any{"login": m[1], "id": id, "type": "User"}
}

func (s *Server) getTeam(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	id, ok := s.teams[strings.ToLower(m[1]+"/"+m[2])]
	if !ok {
		return notFound()
	}
	return http.StatusOK, map[string]any{"slug": m[2], "id": id}
}

func num(v any) int64 {
	n, _ := v.(json.Number).Int64()
	return n
}

func (s *Server) putEnvironment(m []string, _ map[string][]string, b map[string]any) (int, any) {
	e, ok := s.environments[m[3]]
	if !ok {
		e = &Environment{Name: m[3], Variables: map[string]string{}}
		s.environments[m[3]] = e
	}
	if v, ok := b["wait_timer"]; ok {
		e.WaitTimer = int(num(v))
	}
	if v, ok := b["prevent_self_review"]; ok {
		e.PreventSelfReview = v.(bool)
	}
	if v, ok := b["reviewers"]; ok {
		e.Reviewers = nil
		if v != nil {
			for _, x := range v.([]any) {
				r := x.(map[string]any)
				typ := r["type"].(string)
				id := num(r["id"])
				known := false
				for _, uid := range s.users {
					known = known || typ == "User" && uid == id
				}
				for _, tid := range s.teams {
					known = known || typ == "Team" && tid == id
				}
				if !known {
					return http.StatusUnprocessableEntity, map[string]string{"message": fmt.Sprintf("reviewer %s %d does not exist", typ, id)}
				}
				e.Reviewers = append(e.Reviewers, Reviewer{Type: typ, ID: id})
			}
		}
	}
	if v, ok := b["deployment_branch_policy"]; ok {
		if v == nil {
			e.BranchPolicy, e.ProtectedBranches, e.CustomBranchPolicies, e.Policies = false, false, false, nil
		} else {
			p := v.(map[string]any)
			e.BranchPolicy = true
			e.ProtectedBranches, e.CustomBranchPolicies = p["protected_branches"].(bool), p["custom_branch_policies"].(bool)
			if !e.CustomBranchPolicies {
				e.Policies = nil
			}
		}
	}
	return http.StatusOK, s.environmentJSON(e)
}

func (s *Server) environmentJSON(e *Environment) map[string]any {
	var rules []map[string]any
	if e.WaitTimer > 0 {
		rules = append(rules, map[string]any{"type": "wait_timer", "wait_timer": e.WaitTimer})
	}
	if len(e.Reviewers) > 0 {
		var rs []map[string]any
		for _, r := range e.Reviewers {
			rs = append(rs, map[string]any{"type": r.Type, "reviewer": map[string]any{"id": r.ID}})
		}
		rules = append(rules, map[string]any{"type": "required_reviewers", "prevent_self_review": e.PreventSelfReview, "reviewers": rs})
	}
	var bp any
	if e.BranchPolicy {
		bp = map[string]bool{"protected_branches": e.ProtectedBranches, "custom_branch_policies": e.CustomBranchPolicies}
	}
	return map[string]any{"name": e.Name, "protection_rules": rules, "deployment_branch_policy": bp}
}

func (s *Server) env(m []string) (*Environment, bool) {
	e, ok := s.environments[m[3]]
	return e, ok
}

func (s *Server) listPolicies(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	e, ok := s.env(m)
	if !ok {
		return notFound()
	}
	list := []map[string]any{}
	for _, p := range e.Policies {
		list = append(list, map[string]any{"id": p.ID, "node_id": "node" + strconv.FormatInt(p.ID, 10), "name": p.Name, "type": p.Type})
	}
	return http.StatusOK, map[string]any{"total_count": len(list), "branch_policies": list}
}

func (s *Server) createPolicy(m []string, _ map[string][]string, b map[string]any) (int, any) {
	e, ok := s.env(m)
	if !ok {
		return notFound()
	}
	if !e.CustomBranchPolicies {
		// GitHub's answer when the environment is not set to custom policies.
		return notFound()
	}
	typ, _ := b["type"].(string)
	if typ == "" {
		typ = "branch"
	}
	for _, p := range e.Policies {
		if p.Name == b["name"] && p.Type == typ {
			return http.StatusConflict, map[string]string{"message": "policy already exists"}
		}
	}
	s.nextID++
	p := BranchPolicy{ID: s.nextID, Name: b["name"].(string), Type: typ}
	e.Policies = append(e.Policies, p)
	return http.StatusOK, map[string]any{"id": p.ID, "name": p.Name, "type": p.Type}
}

func (s *Server) deletePolicy(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	e, ok := s.env(m)
	if !ok {
		return notFound()
	}
	id, _ := strconv.ParseInt(m[4], 10, 64)
	for i, p := range e.Policies {
		if p.ID == id {
			e.Policies = append(e.Policies[:i], e.Policies[i+1:]...)
			return http.StatusNoContent, nil
		}
	}
	return notFound()
}

func (s *Server) getVariable(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	e, ok := s.env(m)
	if !ok {
		return notFound()
	}
	v, ok := e.Variables[m[4]]
	if !ok {
		return notFound()
	}
	return http.StatusOK, map[string]any{"name": m[4], "value": v}
}

func (s *Server) createVariable(m []string, _ map[string][]string, b map[string]any) (int, any) {
	e, ok := s.env(m)
	if !ok {
		return notFound()
	}
	name := b["name"].(string)
	if _, dup := e.Variables[name]; dup {
		return http.StatusConflict, map[string]string{"message": "Already exists"}
	}
	e.Variables[name] = b["value"].(string)
	return http.StatusCreated, map[string]any{}
}

func (s *Server) updateVariable(m []string, _ map[string][]string, b map[string]any) (int, any) {
	e, ok := s.env(m)
	if !ok {
		return notFound()
	}
	if _, ok := e.Variables[m[4]]; !ok {
		return notFound()
	}
	name := m[4]
	if n, ok := b["name"].(string); ok && n != name {
		delete(e.Variables, name)
		name = n
	}
	if v, ok := b["value"].(string); ok {
		e.Variables[name] = v
	}
	return http.StatusNoContent, nil
}

func (s *Server) createDeployment(m []string, _ map[string][]string, b map[string]any) (int, any) {
	s.nextID++
	d := &Deployment{ID: s.nextID, Ref: b["ref"].(string), Task: "deploy", Environment: "production", AutoMerge: true}
	if v, ok := b["task"].(string); ok {
		d.Task = v
	}
	if v, ok := b["environment"].(string); ok {
		d.Environment = v
	}
	if v, ok := b["description"].(string); ok {
		d.Description = v
	}
	if v, ok := b["auto_merge"].(bool); ok {
		d.AutoMerge = v
	}
	if v, ok := b["required_contexts"].([]any); ok {
		d.requiredContextsWasExplicit = true
		for _, c := range v {
			d.RequiredContexts = append(d.RequiredContexts, c.(string))
		}
	}
	// GitHub's default: production_environment is true for an
	// environment named production.
	d.Production = d.Environment == "production"
	if v, ok := b["production_environment"].(bool); ok {
		d.Production = v
	}
	if v, ok := b["transient_environment"].(bool); ok {
		d.Transient = v
	}
	if !d.requiredContextsWasExplicit {
		// Every status check must pass by default; the fake has none
		// passing, as a commit fresh from a push.
		return http.StatusConflict, map[string]string{"message": "Conflict: Commit status checks failed for " + d.Ref}
	}
	s.deployments = append(s.deployments, d)
	return http.StatusCreated, map[string]any{"id": d.ID, "sha": d.Ref, "ref": d.Ref, "task": d.Task, "environment": d.Environment,
		"production_environment": d.Production, "transient_environment": d.Transient}
}

func (s *Server) listDeployments(m []string, q map[string][]string, _ map[string]any) (int, any) {
	out := []map[string]any{}
	for i := len(s.deployments) - 1; i >= 0; i-- {
		d := s.deployments[i]
		if env := q["environment"]; len(env) > 0 && env[0] != d.Environment {
			continue
		}
		out = append(out, map[string]any{"id": d.ID, "sha": d.Ref, "ref": d.Ref, "task": d.Task, "environment": d.Environment})
	}
	return http.StatusOK, out
}

func (s *Server) deployment(m []string) *Deployment {
	id, _ := strconv.ParseInt(m[3], 10, 64)
	for _, d := range s.deployments {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (s *Server) createStatus(m []string, _ map[string][]string, b map[string]any) (int, any) {
	d := s.deployment(m)
	if d == nil {
		return notFound()
	}
	st := Status{State: b["state"].(string), Environment: d.Environment}
	for k, p := range map[string]*string{"description": &st.Description, "environment": &st.Environment, "environment_url": &st.EnvironmentURL, "log_url": &st.LogURL} {
		if v, ok := b[k].(string); ok {
			*p = v
		}
	}
	if v, ok := b["target_url"].(string); ok && st.LogURL == "" {
		st.LogURL = v
	}
	d.Statuses = append(d.Statuses, st)
	auto := true
	if v, ok := b["auto_inactive"].(bool); ok {
		auto = v
	}
	// auto_inactive, as documented: an inactive status for every prior
	// non-transient, non-production deployment of the same environment
	// whose state was success.
	if st.State == "success" && auto && !d.Production && !d.Transient {
		for _, o := range s.deployments {
			if o.ID == d.ID || o.Environment != d.Environment || o.Production || o.Transient || len(o.Statuses) == 0 {
				continue
			}
			if o.Statuses[len(o.Statuses)-1].State == "success" {
				o.Statuses = append(o.Statuses, Status{State: "inactive", Environment: o.Environment, Auto: true})
			}
		}
	}
	return http.StatusCreated, map[string]any{"id": len(d.Statuses), "state": st.State}
}

func (s *Server) listStatuses(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	d := s.deployment(m)
	if d == nil {
		return notFound()
	}
	out := []map[string]any{}
	for i := len(d.Statuses) - 1; i >= 0; i-- {
		out = append(out, map[string]any{"state": d.Statuses[i].State, "description": d.Statuses[i].Description})
	}
	return http.StatusOK, out
}

func (s *Server) listApprovals(m []string, _ map[string][]string, _ map[string]any) (int, any) {
	id, _ := strconv.ParseInt(m[3], 10, 64)
	out := []map[string]any{}
	for _, a := range s.approvals[id] {
		var envs []map[string]any
		for _, e := range a.Environments {
			envs = append(envs, map[string]any{"name": e})
		}
		out = append(out, map[string]any{"state": a.State, "comment": "", "environments": envs, "user": map[string]any{"login": a.Login}})
	}
	return http.StatusOK, out
}
