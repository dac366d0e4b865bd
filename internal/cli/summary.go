package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/transport"
)

// The job summary of a deploy or rollback, written as the SOP's
// post-deployment notice: what happened in words, the commit, the
// environment, each server and its outcome, health, on failure the
// error, its hint and the log's last lines, the steps' durations and a
// link to the run. Nothing in it is an internal op or outcome name.

// outcomeWords says an agent outcome (or a transport's) for people.
var outcomeWords = map[string]string{
	agent.OutcomeDeployed:       "deployed and healthy",
	agent.OutcomeOK:             "succeeded",
	agent.OutcomeFailed:         "failed before anything changed: the previous release still serves",
	agent.OutcomeRolledBack:     "failed after the switch and was rolled back: the previous release serves",
	agent.OutcomeRollbackFailed: "failed, and the rollback failed too: a person must look at the server",
	agent.OutcomeLocked:         "refused: another deploy holds the lock",
	agent.OutcomeInvalid:        "refused: the request was invalid",
	"not_run":                   "not run: SSM did not run the command there",
	"cancelled":                 "cancelled before it started",
	"unknown":                   "unknown: stopped while running; check what serves",
}

// stepWords names the agent's steps for people.
var stepWords = map[agent.StepName]string{
	agent.StepLock: "deploy lock", agent.StepFetch: "fetch the commit", agent.StepVenv: "virtualenv",
	agent.StepInstall: "install requirements", agent.StepLink: "link shared files", agent.StepStop: "stop the old release",
	agent.StepSwitch: "switch to the new release", agent.StepStart: "start the app", agent.StepHealth: "health check", agent.StepWatch: "post-deploy watch",
	agent.StepPrune: "prune old releases", agent.StepVerify: "verify the release", agent.StepRollback: "roll back",
	agent.StepRestore: "restore the previous release", agent.StepBeforeSwitch: "before_switch hook",
	agent.StepAfterHealthy: "after_healthy hook", agent.StepOnFailure: "on_failure hook", agent.StepExec: "run the command", agent.StepWrites: "data written into the release",
}

func words(m map[string]string, k string) string {
	if w, ok := m[k]; ok {
		return w
	}
	return strings.ReplaceAll(k, "_", " ")
}

// summaryMarkdown is the notice for the results of o.
func (o *operation) summaryMarkdown() string {
	outcome, code := worst(o.results)
	what := "Deployment"
	if o.op == agent.OpRollback {
		what = "Rollback"
	}
	mark, status := "✅", "succeeded"
	switch code {
	case exitcode.OK:
	case exitcode.RolledBack:
		mark, status = "⚠️", "failed and was rolled back"
	default:
		mark, status = "❌", "failed"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s %s of %s to %s %s\n\n", mark, what, o.t.cfg.App, o.t.name, status)
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Status | %s |\n", mdCell(capitalize(words(outcomeWords, outcome))))
	fmt.Fprintf(&b, "| Commit | `%s` |\n", o.spec.SHA)
	fmt.Fprintf(&b, "| Environment | %s |\n", mdCell(o.t.name))
	if who := o.t.repo.Deployer(o.t.ci); who != "" {
		fmt.Fprintf(&b, "| By | %s |\n", mdCell(who))
	}
	if u := appURL(o.t.cfg.Health.URL); u != "" && !strings.Contains(u, "${") {
		fmt.Fprintf(&b, "| Health check | %s |\n", mdCell(o.t.cfg.Health.URL))
	}
	if run := o.CI.RunURL(); run != "" {
		fmt.Fprintf(&b, "| Run | [%s](%s) |\n", run, run)
	}
	b.WriteString("\n| Server | Outcome | Release | Health | Time |\n|---|---|---|---|---|\n")
	for _, r := range o.results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(r.Target), mdCell(words(outcomeWords, r.Result.Outcome)), mdCell(r.Result.Release), healthWords(r), fmtMS(r.Result.DurationMS))
	}
	for _, r := range o.results {
		res := r.Result
		if res.ExitCode == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n**%s**: %s\n", mdCell(r.Target), mdCell(res.Error))
		for _, h := range res.Hints {
			fmt.Fprintf(&b, "\nHint: %s\n", mdCell(h))
		}
		if len(res.LogTail) > 0 {
			fmt.Fprintf(&b, "\n<details><summary>Last %d lines of the log</summary>\n\n```\n%s\n```\n</details>\n", len(res.LogTail), strings.Join(res.LogTail, "\n"))
		}
	}
	if len(o.results) > 0 && len(o.results[0].Result.Steps) > 0 {
		steps := o.results[0].Result.Steps
		fmt.Fprintf(&b, "\n<details><summary>Steps on %s</summary>\n\n| Step | Result | Time |\n|---|---|---|\n", mdCell(o.results[0].Target))
		for _, s := range steps {
			name, ok := stepWords[s.Name]
			if !ok {
				name = string(s.Name)
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", name, s.Status, fmtMS(s.DurationMS))
		}
		b.WriteString("</details>\n")
	}
	return b.String() + "\n"
}

// healthWords is a server's health after the operation.
func healthWords(r transport.TargetResult) string {
	for _, s := range r.Result.Steps {
		if s.Name == agent.StepHealth {
			if s.Status == agent.StepOK {
				return "healthy"
			}
			return "not healthy"
		}
	}
	if r.Result.ExitCode == 0 {
		return "healthy"
	}
	return "–"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// mdCell keeps s inside one Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "").Replace(s)
}

// pipGroup prints pip's log as one group in Actions: the whole log of a
// local target (it is on this machine), or the last lines a failed
// install carries in its error from a server; it returns res with the
// error cut to its first line, so the lines are not printed twice.
func (o *operation) pipGroup(target string, res agent.Result) agent.Result {
	failed := false
	for _, s := range res.Steps {
		failed = failed || (s.Name == agent.StepInstall && s.Status == agent.StepFailed)
	}
	if o.t.env.Target == config.TargetLocal && res.Release != "" {
		if b, err := os.ReadFile(filepath.Join(o.t.root, "shared", "logs", "pip-"+res.Release+".log")); err == nil && len(b) > 0 {
			fmt.Fprintf(o.Err, "::group::%s: pip's log (shared/logs/pip-%s.log)\n%s\n::endgroup::\n", target, res.Release, strings.TrimRight(o.redact.text(string(b)), "\n"))
		}
	}
	if first, rest, ok := strings.Cut(res.Error, "\n"); failed && ok {
		fmt.Fprintf(o.Err, "::group::%s: pip's last lines\n%s\n::endgroup::\n", target, strings.TrimRight(rest, "\n"))
		res.Error = first
	}
	return res
}
