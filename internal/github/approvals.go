package github

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// Approvers are the logins that approved a workflow run's deployment to
// environment (GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals:
// the environment's required reviewers who answered "approved"), sorted,
// each once. A run that waited for no review has none. The notifications
// name them as the SOP's pre-deployment message asks.
func (c *Client) Approvers(ctx context.Context, repo Repo, runID int64, environment string) ([]string, error) {
	var out []struct {
		State        string `json:"state"`
		Environments []struct {
			Name string `json:"name"`
		} `json:"environments"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	if err := c.do(ctx, http.MethodGet, repo.path("/actions/runs/%s/approvals", strconv.FormatInt(runID, 10)), nil, &out); err != nil {
		return nil, fmt.Errorf("list the approvals of run %d: %w", runID, err)
	}
	seen := map[string]bool{}
	var logins []string
	for _, a := range out {
		if a.State != "approved" || a.User.Login == "" || seen[a.User.Login] {
			continue
		}
		for _, e := range a.Environments {
			if e.Name == environment {
				seen[a.User.Login] = true
				logins = append(logins, a.User.Login)
				break
			}
		}
	}
	sort.Strings(logins)
	return logins, nil
}
