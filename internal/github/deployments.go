package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Deployment states a status may carry.
const (
	StateInProgress = "in_progress"
	StateSuccess    = "success"
	StateFailure    = "failure"
	StateError      = "error"
	StateInactive   = "inactive"
)

// DeploymentRequest is one deploy to record.
type DeploymentRequest struct {
	// Environment is the GitHub (and ferry.yml) environment.
	Environment string
	// SHA is the full commit deployed (the deployment's ref).
	SHA string
	// Task is the deployment's task; default "deploy" ("rollback" for
	// ferry rollback).
	Task string
	// Description is a short summary (at most 140 characters are kept).
	Description string
	// Production and Transient are the environment's nature: GitHub
	// marks older deployments inactive by itself only in environments
	// that are neither.
	Production, Transient bool
	// EnvironmentURL is where the environment answers; LogURL is the
	// deploy's output (the Actions run, or empty from a laptop).
	EnvironmentURL, LogURL string
}

// deploymentBody is POST /repos/{owner}/{repo}/deployments's. auto_merge
// false: GitHub would otherwise merge the default branch into the ref
// first; required_contexts []: ferry's gates decided already, and
// GitHub's default (every status check must pass) would refuse a deploy
// whose commit has a failing unrelated check.
type deploymentBody struct {
	Ref                   string   `json:"ref"`
	Task                  string   `json:"task"`
	AutoMerge             bool     `json:"auto_merge"`
	RequiredContexts      []string `json:"required_contexts"`
	Environment           string   `json:"environment"`
	Description           string   `json:"description,omitempty"`
	ProductionEnvironment bool     `json:"production_environment"`
	TransientEnvironment  bool     `json:"transient_environment"`
}

type statusBody struct {
	State          string `json:"state"`
	LogURL         string `json:"log_url,omitempty"`
	Description    string `json:"description,omitempty"`
	Environment    string `json:"environment,omitempty"`
	EnvironmentURL string `json:"environment_url,omitempty"`
	AutoInactive   *bool  `json:"auto_inactive,omitempty"`
}

// Deployment is a created or listed deployment.
type Deployment struct {
	ID          int64  `json:"id"`
	SHA         string `json:"sha"`
	Ref         string `json:"ref"`
	Environment string `json:"environment"`
}

func cut140(s string) string {
	r := []rune(s)
	if len(r) > 140 {
		return string(r[:139]) + "…"
	}
	return s
}

// CreateDeployment creates a deployment of r.SHA in r.Environment.
func (c *Client) CreateDeployment(ctx context.Context, repo Repo, r DeploymentRequest) (*Deployment, error) {
	task := r.Task
	if task == "" {
		task = "deploy"
	}
	body := deploymentBody{
		Ref: r.SHA, Task: task, AutoMerge: false, RequiredContexts: []string{}, Environment: r.Environment,
		Description: cut140(r.Description), ProductionEnvironment: r.Production, TransientEnvironment: r.Transient,
	}
	var d Deployment
	if err := c.do(ctx, http.MethodPost, repo.path("/deployments"), body, &d); err != nil {
		return nil, fmt.Errorf("create deployment: %w", err)
	}
	return &d, nil
}

// Status is one deployment status to post.
type Status struct {
	State                  string
	Description            string
	Environment            string
	EnvironmentURL, LogURL string
	// AutoInactive, when set, is sent as auto_inactive (GitHub's default
	// is true).
	AutoInactive *bool
}

// CreateStatus posts a status of deployment id.
func (c *Client) CreateStatus(ctx context.Context, repo Repo, id int64, s Status) error {
	body := statusBody{State: s.State, LogURL: s.LogURL, Description: cut140(s.Description), Environment: s.Environment, EnvironmentURL: s.EnvironmentURL, AutoInactive: s.AutoInactive}
	if err := c.do(ctx, http.MethodPost, repo.path("/deployments/%d/statuses", id), body, nil); err != nil {
		return fmt.Errorf("deployment %d: post %s status: %w", id, s.State, err)
	}
	return nil
}

// ListDeployments lists environment's deployments, newest first (one
// page of up to 30: enough to find the one serving).
func (c *Client) ListDeployments(ctx context.Context, repo Repo, environment string) ([]Deployment, error) {
	var out []Deployment
	q := url.Values{"environment": {environment}, "per_page": {"30"}}
	if err := c.do(ctx, http.MethodGet, repo.path("/deployments?%s", q.Encode()), nil, &out); err != nil {
		return nil, fmt.Errorf("list deployments of %s: %w", environment, err)
	}
	return out, nil
}

// LatestState is the state of a deployment's newest status ("" when it
// has none).
func (c *Client) LatestState(ctx context.Context, repo Repo, id int64) (string, error) {
	var out []struct {
		State string `json:"state"`
	}
	if err := c.do(ctx, http.MethodGet, repo.path("/deployments/%d/statuses?per_page=1", id), nil, &out); err != nil {
		return "", fmt.Errorf("deployment %d: list statuses: %w", id, err)
	}
	if len(out) == 0 {
		return "", nil
	}
	return out[0].State, nil
}

// Tracker is one deploy's GitHub Deployment, from Track to Finish. A nil
// or failed Tracker's Finish does nothing, so the runner needs no checks.
type Tracker struct {
	c        *Client
	repo     Repo
	req      DeploymentRequest
	id       int64
	replaces int64
}

// ID is the GitHub deployment's ID (0 when none was created).
func (t *Tracker) ID() int64 {
	if t == nil {
		return 0
	}
	return t.id
}

// Replaces is the deployment this one supersedes (0: none found).
func (t *Tracker) Replaces() int64 {
	if t == nil {
		return 0
	}
	return t.replaces
}

// Track records the start of a deploy: it finds the deployment now
// serving r.Environment (the newest whose latest status is success),
// creates the new deployment and posts in_progress. It never fails the
// deploy: the error it returns is a warning to print, and the Tracker it
// returns is usable in every case.
func (c *Client) Track(ctx context.Context, repo Repo, r DeploymentRequest) (*Tracker, error) {
	t := &Tracker{c: c, repo: repo, req: r}
	var warns []error
	if prev, err := c.ListDeployments(ctx, repo, r.Environment); err != nil {
		if !errors.Is(err, errDryRun) {
			warns = append(warns, err)
		}
	} else {
		for _, d := range prev {
			st, err := c.LatestState(ctx, repo, d.ID)
			if err != nil {
				warns = append(warns, err)
				break
			}
			if st == StateSuccess {
				t.replaces = d.ID
				break
			}
		}
	}
	d, err := c.CreateDeployment(ctx, repo, r)
	if err != nil {
		if errors.Is(err, errDryRun) {
			return t, nil
		}
		return t, warning(append(warns, err))
	}
	t.id = d.ID
	if err := c.CreateStatus(ctx, repo, t.id, Status{State: StateInProgress, Description: r.Description, Environment: r.Environment, LogURL: r.LogURL}); err != nil {
		warns = append(warns, err)
	}
	return t, warning(warns)
}

// Outcome is how the deploy ended.
type Outcome struct {
	// Success: the new release serves.
	Success bool
	// Error: the deploy could not run at all (GitHub's error state)
	// rather than failed (failure: it ran and did not succeed, including
	// rolled back).
	Error bool
	// Description says what happened (at most 140 characters are kept).
	Description string
}

// Finish posts the outcome: success (with the environment URL, and
// auto_inactive so that GitHub retires older deployments where it does
// that itself), failure or error. After a success in a production or
// transient environment, where GitHub leaves older deployments active,
// the one this deploy replaced is marked inactive here. Like Track, it
// returns a warning, never a failure.
func (t *Tracker) Finish(ctx context.Context, o Outcome) error {
	if t == nil || t.c == nil {
		return nil
	}
	state := StateFailure
	switch {
	case o.Success:
		state = StateSuccess
	case o.Error:
		state = StateError
	}
	if t.id == 0 && t.c.DryRun == nil {
		return nil
	}
	s := Status{State: state, Description: o.Description, Environment: t.req.Environment, LogURL: t.req.LogURL}
	if o.Success {
		yes := true
		s.EnvironmentURL, s.AutoInactive = t.req.EnvironmentURL, &yes
	}
	var warns []error
	if err := t.c.CreateStatus(ctx, t.repo, t.id, s); err != nil && !errors.Is(err, errDryRun) {
		warns = append(warns, err)
	}
	if o.Success && t.replaces != 0 && t.replaces != t.id && (t.req.Production || t.req.Transient) {
		err := t.c.CreateStatus(ctx, t.repo, t.replaces, Status{State: StateInactive, Environment: t.req.Environment,
			Description: "replaced by deployment " + strconv.FormatInt(t.id, 10)})
		if err != nil && !errors.Is(err, errDryRun) {
			warns = append(warns, err)
		}
	}
	return warning(warns)
}

// warning joins what went wrong talking to GitHub into one error that
// says it changed nothing about the deploy.
func warning(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("github deployment not recorded fully (the deploy itself is not affected): %w", errors.Join(errs...))
}
