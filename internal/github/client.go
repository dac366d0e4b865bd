// Package github is the small GitHub REST client ferry needs: it creates
// or updates the repository's environments (`ferry init`: reviewers, wait
// timer, deployment branch policies, the variables the workflows read)
// and records deploys as GitHub Deployments (`ferry deploy` from a laptop
// or any workflow). It speaks REST API version 2022-11-28 with the
// documented headers; internal/testing/githubtest is a local fake that
// checks every request against the documented shapes.
//
// The CLI's calls (the CLI finds the token: GITHUB_TOKEN, else `gh auth
// token`):
//
//	c := github.New(token)                 // c.BaseURL for GitHub Enterprise (https://HOST/api/v3)
//	c.DryRun = os.Stdout                   // print the writes instead of sending them
//	repo, err := github.ParseRepo("acme/billing")
//	err = c.EnsureEnvironment(ctx, repo, github.Environment{Name: "production", WaitTimer: 10,
//		Reviewers: []github.Reviewer{{User: "alice"}, {Team: "acme/ops"}}, Branches: []string{"master"},
//		Variables: map[string]string{"FERRY_AWS_ROLE_ARN": arn, "FERRY_AWS_REGION": "eu-west-1"}})
//
//	// ferry deploy: at the start and the end of the runner; never fails a deploy.
//	t, warn := c.Track(ctx, repo, github.DeploymentRequest{Environment: "production", SHA: sha,
//		Production: true, EnvironmentURL: url, LogURL: runURL})
//	…
//	warn = t.Finish(ctx, github.Outcome{Success: ok, Description: "deployed 4e1eef7 to 3 servers"})
//
// Track and Finish return warnings, not failures: GitHub being down or a
// token without deployments: write must never stop or fail a deploy.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// APIVersion is the REST API version ferry is written against.
const APIVersion = "2022-11-28"

// DefaultBaseURL is github.com's API.
const DefaultBaseURL = "https://api.github.com"

// Client talks to one GitHub API.
type Client struct {
	// BaseURL is the API root; default DefaultBaseURL.
	BaseURL string
	// Token is sent as a Bearer token.
	Token string
	// HTTP sends the requests; default a client with a 30 s timeout.
	HTTP *http.Client
	// DryRun, when set, receives every write (PUT, POST, PATCH, DELETE)
	// as METHOD PATH and its JSON body instead of it being sent. Reads
	// are sent (they change nothing, and the writes that follow depend
	// on them) and printed too; without a Token they are printed only,
	// and lookups answer 0.
	DryRun io.Writer
	// UserAgent is required by GitHub; default "ferry".
	UserAgent string
}

// New is a client of github.com with token.
func New(token string) *Client {
	return &Client{Token: token}
}

// Repo is OWNER/NAME.
type Repo struct{ Owner, Name string }

func (r Repo) String() string { return r.Owner + "/" + r.Name }

var repoPartRe = text.Pattern(`^[A-Za-z0-9_.-]{1,100}$`)

// ParseRepo reads OWNER/NAME (also a github.com URL or a git remote).
func ParseRepo(s string) (Repo, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), ".git")
	for _, p := range []string{"https://github.com/", "http://github.com/", "git@github.com:", "ssh://git@github.com/"} {
		t = strings.TrimPrefix(t, p)
	}
	owner, name, ok := strings.Cut(t, "/")
	if !ok || !repoPartRe().MatchString(owner) || !repoPartRe().MatchString(name) || name == "." || name == ".." {
		return Repo{}, fail.Usage(fmt.Errorf("github: %q is not a repository", s), "give it as OWNER/REPO, e.g. acme/billing")
	}
	return Repo{Owner: owner, Name: name}, nil
}

// APIError is an answer other than 2xx.
type APIError struct {
	Method, Path string
	Status       int
	// Message and Errors are GitHub's JSON error body.
	Message string
	Errors  []json.RawMessage
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("github: %s %s: %d %s", e.Method, e.Path, e.Status, strings.ToLower(http.StatusText(e.Status)))
	if e.Message != "" {
		s += ": " + e.Message
	}
	for _, d := range e.Errors {
		s += " " + string(d)
	}
	return s
}

// errDryRun is what a write returns in dry-run mode: nothing was sent.
var errDryRun = errors.New("dry run: not sent")

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimSuffix(c.BaseURL, "/")
}

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// do sends one request and decodes a JSON answer into out (nil: none).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("github: %s %s: %w", method, path, err)
		}
	}
	if c.DryRun != nil {
		fmt.Fprintf(c.DryRun, "%s %s\n", method, path)
		if body != nil {
			var b bytes.Buffer
			json.Indent(&b, body, "  ", "  ")
			fmt.Fprintf(c.DryRun, "  %s\n", b.String())
		}
		if method != http.MethodGet || c.Token == "" {
			return errDryRun
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, rd)
	if err != nil {
		return fmt.Errorf("github: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	ua := c.UserAgent
	if ua == "" {
		ua = "ferry"
	}
	req.Header.Set("User-Agent", ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	h := c.HTTP
	if h == nil {
		h = defaultHTTP
	}
	resp, err := h.Do(req)
	if err != nil {
		return fail.New(exitcode.Failed, fmt.Errorf("github: %s %s: %w", method, path, err), "check the network and "+c.base())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("github: %s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Method: method, Path: path, Status: resp.StatusCode}
		var eb struct {
			Message string            `json:"message"`
			Errors  []json.RawMessage `json:"errors"`
		}
		if json.Unmarshal(b, &eb) == nil {
			ae.Message, ae.Errors = eb.Message, eb.Errors
		}
		return fail.New(exitcode.Failed, ae, hintFor(resp.StatusCode))
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("github: %s %s: the answer is not JSON: %w", method, path, err)
		}
	}
	return nil
}

func hintFor(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the token is not valid: set GITHUB_TOKEN, or run gh auth login"
	case http.StatusForbidden:
		return "the token may not do this: environments need a repository admin's token, deployments a token with deployments: write (or a rate limit was hit: retry later)"
	case http.StatusNotFound:
		return "the repository, user or team does not exist, or the token cannot see it (a private repository needs the repo scope)"
	case http.StatusUnprocessableEntity:
		return "GitHub refused the request's content: the message above says which field"
	}
	return ""
}

// IsNotFound tells a 404 answer.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// esc is one path segment: environment names may hold characters (a
// slash) that must be escaped.
func esc(s string) string { return url.PathEscape(s) }

func (r Repo) path(format string, args ...any) string {
	return "/repos/" + esc(r.Owner) + "/" + esc(r.Name) + fmt.Sprintf(format, args...)
}
