package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// Reviewer is a person or a team who must approve a deploy. GitHub wants
// their numeric IDs; EnsureEnvironment looks them up by name.
type Reviewer struct {
	// User is a login, or Team is ORG/SLUG (one of them).
	User, Team string
}

// Environment is how one GitHub environment should be.
type Environment struct {
	Name string
	// WaitTimer holds each deploy this many minutes after it is
	// approved (0–43200).
	WaitTimer int
	// Reviewers must approve each deploy (at most 6); empty = none.
	Reviewers []Reviewer
	// PreventSelfReview stops the person who pushed from approving.
	PreventSelfReview bool
	// Branches are the only branches that may deploy here (each a
	// deployment branch policy); nil = any branch.
	Branches []string
	// Variables are the environment's Actions variables (the workflows
	// read FERRY_AWS_ROLE_ARN and FERRY_AWS_REGION).
	Variables map[string]string
}

type reviewerBody struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}

type branchPolicyBody struct {
	ProtectedBranches    bool `json:"protected_branches"`
	CustomBranchPolicies bool `json:"custom_branch_policies"`
}

// environmentBody is PUT /repos/{owner}/{repo}/environments/{name}'s.
// Reviewers and the branch policy are always sent, null when absent, so
// that an update also removes what the configuration no longer has.
type environmentBody struct {
	WaitTimer              int               `json:"wait_timer"`
	PreventSelfReview      bool              `json:"prevent_self_review"`
	Reviewers              []reviewerBody    `json:"reviewers"`
	DeploymentBranchPolicy *branchPolicyBody `json:"deployment_branch_policy"`
}

var (
	envNameRe  = text.Pattern(`^[^\x00-\x1f'"]{1,255}$`)
	loginRe    = text.Pattern(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	teamRe     = text.Pattern(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	branchRe   = text.Pattern(`^[^\x00-\x20~^:?\\\[]{1,255}$`)
	variableRe = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]{0,99}$`)
)

func (e Environment) validate() error {
	var errs []error
	bad := func(hint, format string, args ...any) {
		errs = append(errs, fail.Errorf(exitcode.Usage, "github: environment %s: "+format, append([]any{e.Name}, args...)...).WithHints(hint))
	}
	if !envNameRe().MatchString(e.Name) {
		bad("use ferry.yml's environment name", "the name is not allowed")
	}
	if e.WaitTimer < 0 || e.WaitTimer > 43200 {
		bad("give 0 to 43200 minutes (30 days)", "wait timer %d minutes is out of range", e.WaitTimer)
	}
	if len(e.Reviewers) > 6 {
		bad("GitHub allows up to 6 reviewers: use a team for more people", "%d reviewers", len(e.Reviewers))
	}
	for _, r := range e.Reviewers {
		switch {
		case (r.User == "") == (r.Team == ""):
			bad("give each reviewer as a user login or a team ORG/SLUG", "a reviewer names %q and %q", r.User, r.Team)
		case r.User != "" && !loginRe().MatchString(r.User):
			bad("give a GitHub login", "reviewer %q is not a login", r.User)
		case r.Team != "" && !teamRe().MatchString(r.Team):
			bad("give a team as ORG/SLUG, e.g. acme/ops", "reviewer team %q is not ORG/SLUG", r.Team)
		}
	}
	for _, b := range e.Branches {
		if !branchRe().MatchString(b) {
			bad("give branch names or patterns such as master or release/*", "branch %q is not allowed", b)
		}
	}
	for k := range e.Variables {
		if !variableRe().MatchString(k) || strings.HasPrefix(strings.ToUpper(k), "GITHUB_") {
			bad("variable names are letters, digits and _, not starting with GITHUB_", "variable %q is not allowed", k)
		}
	}
	return errors.Join(errs...)
}

// LookupUser is a user's ID (GET /users/{username}).
func (c *Client) LookupUser(ctx context.Context, login string) (int64, error) {
	var u struct {
		ID int64 `json:"id"`
	}
	err := c.do(ctx, http.MethodGet, "/users/"+esc(login), nil, &u)
	if errors.Is(err, errDryRun) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look up reviewer %s: %w", login, err)
	}
	return u.ID, nil
}

// LookupTeam is a team's ID (GET /orgs/{org}/teams/{team_slug}).
func (c *Client) LookupTeam(ctx context.Context, orgSlug string) (int64, error) {
	org, slug, _ := strings.Cut(orgSlug, "/")
	var t struct {
		ID int64 `json:"id"`
	}
	err := c.do(ctx, http.MethodGet, "/orgs/"+esc(org)+"/teams/"+esc(slug), nil, &t)
	if errors.Is(err, errDryRun) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("look up reviewer team %s: %w", orgSlug, err)
	}
	return t.ID, nil
}

// EnsureEnvironment creates or updates environment e so that it is
// exactly as given: PUT the environment (protection rules), then make its
// deployment branch policies e.Branches (create the missing, delete the
// others), then set its variables. Running it twice changes nothing the
// second time but the PUT, which GitHub treats as an update.
func (c *Client) EnsureEnvironment(ctx context.Context, repo Repo, e Environment) error {
	if err := e.validate(); err != nil {
		return err
	}
	body := environmentBody{WaitTimer: e.WaitTimer, PreventSelfReview: e.PreventSelfReview}
	for _, r := range e.Reviewers {
		var id int64
		var err error
		kind := "User"
		if r.User != "" {
			id, err = c.LookupUser(ctx, r.User)
		} else {
			kind = "Team"
			id, err = c.LookupTeam(ctx, r.Team)
		}
		if err != nil {
			return err
		}
		body.Reviewers = append(body.Reviewers, reviewerBody{Type: kind, ID: id})
	}
	if e.Branches != nil {
		// Custom policies, not "protected branches": the brief is one
		// named branch (master), whether or not it is protected.
		body.DeploymentBranchPolicy = &branchPolicyBody{ProtectedBranches: false, CustomBranchPolicies: true}
	}
	envPath := repo.path("/environments/%s", esc(e.Name))
	if err := c.do(ctx, http.MethodPut, envPath, body, nil); err != nil && !errors.Is(err, errDryRun) {
		return fmt.Errorf("create or update environment %s: %w", e.Name, err)
	}
	if e.Branches != nil {
		if err := c.syncBranchPolicies(ctx, envPath, e.Branches); err != nil {
			return fmt.Errorf("environment %s: %w", e.Name, err)
		}
	}
	if err := c.syncVariables(ctx, envPath, e.Variables); err != nil {
		return fmt.Errorf("environment %s: %w", e.Name, err)
	}
	return nil
}

type branchPolicy struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func (c *Client) syncBranchPolicies(ctx context.Context, envPath string, want []string) error {
	var have []branchPolicy
	for page := 1; ; page++ {
		var list struct {
			TotalCount     int            `json:"total_count"`
			BranchPolicies []branchPolicy `json:"branch_policies"`
		}
		err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/deployment-branch-policies?per_page=100&page=%d", envPath, page), nil, &list)
		// In a dry run the environment may not exist yet: the PUT that
		// would make it was only printed.
		if errors.Is(err, errDryRun) || c.DryRun != nil && IsNotFound(err) {
			break
		}
		if err != nil {
			return fmt.Errorf("list deployment branch policies: %w", err)
		}
		have = append(have, list.BranchPolicies...)
		if len(list.BranchPolicies) < 100 || len(have) >= list.TotalCount {
			break
		}
	}
	wanted := map[string]bool{}
	for _, b := range want {
		wanted[b] = true
	}
	present := map[string]bool{}
	for _, p := range have {
		if p.Type != "tag" && wanted[p.Name] {
			present[p.Name] = true
			continue
		}
		err := c.do(ctx, http.MethodDelete, fmt.Sprintf("%s/deployment-branch-policies/%d", envPath, p.ID), nil, nil)
		if err != nil && !errors.Is(err, errDryRun) {
			return fmt.Errorf("delete deployment %s policy %s: %w", p.Type, p.Name, err)
		}
	}
	names := append([]string(nil), want...)
	sort.Strings(names)
	for _, b := range names {
		if present[b] {
			continue
		}
		present[b] = true
		err := c.do(ctx, http.MethodPost, envPath+"/deployment-branch-policies", map[string]string{"name": b, "type": "branch"}, nil)
		if err != nil && !errors.Is(err, errDryRun) {
			return fmt.Errorf("create deployment branch policy %s: %w", b, err)
		}
	}
	return nil
}

func (c *Client) syncVariables(ctx context.Context, envPath string, vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		var cur struct {
			Value string `json:"value"`
		}
		err := c.do(ctx, http.MethodGet, envPath+"/variables/"+esc(k), nil, &cur)
		switch {
		case errors.Is(err, errDryRun):
			err = c.do(ctx, http.MethodPost, envPath+"/variables", map[string]string{"name": k, "value": vars[k]}, nil)
		case IsNotFound(err):
			err = c.do(ctx, http.MethodPost, envPath+"/variables", map[string]string{"name": k, "value": vars[k]}, nil)
		case err != nil:
		case cur.Value == vars[k]:
			continue
		default:
			err = c.do(ctx, http.MethodPatch, envPath+"/variables/"+esc(k), map[string]string{"name": k, "value": vars[k]}, nil)
		}
		if err != nil && !errors.Is(err, errDryRun) {
			return fmt.Errorf("set variable %s: %w", k, err)
		}
	}
	return nil
}
