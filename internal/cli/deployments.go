package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/github"
	"github.com/ferryhq/ferry/internal/text"
)

// GitHub Deployments: in GitHub Actions with a token, ferry deploy and
// ferry rollback record a deployment of the environment and commit, so
// that the environment's page and DORA tools reading deployment_status
// events see every deploy: in_progress when it starts (the runner's
// github step, after the gates), then success or failure when the runner
// ends (finishDeployment), and inactive for the deployment it replaced.
// FERRY_GITHUB_DEPLOYMENT=actions skips it: a job with environment:
// already gets one from GitHub (the generated workflows set it). GitHub
// being unreachable is a warning, never a failure.

// EnvGitHubDeployment is the variable that says who records deployments.
const EnvGitHubDeployment = "FERRY_GITHUB_DEPLOYMENT"

// github starts the operation's GitHub deployment.
func (o *operation) github(ctx context.Context) error {
	switch {
	case !o.CI.Actions:
		return skip("not in GitHub Actions")
	case o.Getenv(EnvGitHubDeployment) == "actions":
		return skip(EnvGitHubDeployment + "=actions: the job's environment records the deployment")
	case o.Getenv("GITHUB_TOKEN") == "":
		return skip("no GITHUB_TOKEN to record a deployment with")
	}
	repo, err := github.ParseRepo(o.CI.Repository)
	if err != nil {
		return skip("GITHUB_REPOSITORY names no repository")
	}
	c := github.New(o.Getenv("GITHUB_TOKEN"))
	if u := o.Getenv("GITHUB_API_URL"); u != "" {
		c.BaseURL = u
	}
	env := o.t.env
	req := github.DeploymentRequest{Environment: o.t.name, SHA: o.spec.SHA, LogURL: o.CI.RunURL(),
		Production: o.t.name == "production" || env.Branch == "master" || env.Branch == "main"}
	if u := appURL(o.t.cfg.Health.URL); !strings.Contains(u, "${") && !strings.Contains(u, "127.0.0.1") && !strings.Contains(u, "localhost") {
		req.EnvironmentURL = u
	}
	if o.op == agent.OpRollback {
		req.Task = "rollback"
		req.Description = "ferry rollback of " + o.t.name
		if o.spec.To != "" {
			req.Description += " to " + o.spec.To
			if len(o.spec.To) == 40 || len(o.spec.To) == 64 {
				// The deployment's ref is the commit rolled back to.
				req.SHA = o.spec.To
			}
		}
		if req.SHA == "" {
			// Rolled back to "the previous good release": its commit is
			// known only afterwards; the deployment names the branch's.
			req.SHA = o.t.repo.HeadSHA()
		}
	} else {
		req.Description = "ferry deploy " + text.Short(o.spec.SHA) + " to " + o.t.name
	}
	if req.SHA == "" {
		return skip("no commit to record")
	}
	t, warn := c.Track(ctx, repo, req)
	o.deployment = t
	if warn != nil {
		o.warnGitHub(warn)
	}
	return nil
}

// finishDeployment posts how the operation ended; err is the runner's.
func (o *operation) finishDeployment(ctx context.Context, err error) {
	if o.deployment == nil {
		return
	}
	out := github.Outcome{Success: err == nil}
	switch {
	case err == nil:
		out.Description = fmt.Sprintf("%s %s on %d servers", o.verb(), text.Short(o.spec.SHA), len(o.results))
	case o.results == nil:
		out.Error = true
		out.Description = "did not reach the servers: " + firstLine(err.Error())
	default:
		outcome, _ := worst(o.results)
		out.Description = words(outcomeWords, outcome)
	}
	if fail.Code(err) == exitcode.Refused {
		out.Error = false
	}
	if warn := o.deployment.Finish(ctx, out); warn != nil {
		o.warnGitHub(warn)
	}
}

func (o *operation) warnGitHub(err error) {
	fmt.Fprintf(o.Err, "%s %v\n", o.painter().Paint(ansi.Yellow, "warning:"), err)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
