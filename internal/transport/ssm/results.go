package ssm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/text"
	"github.com/ferryhq/ferry/internal/transport"
)

// Markers of the agent's combined plugin output (the SSM Agent's
// iohandler): stderr follows this title, and a cut stream ends with a
// truncation note.
const pluginErrorTitle = "\n----------ERROR-------\n"

// ParseResult finds the agent's result in its stdout: the last line that
// is a complete {"event":"result",...} object. A line cut by SSM's
// truncation does not parse, and reports false.
func ParseResult(stdout string) (agent.Result, bool) {
	lines := strings.Split(stdout, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, `{"event":"result"`) {
			continue
		}
		var ev agent.Event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Result != nil {
			return *ev.Result, true
		}
	}
	return agent.Result{}, false
}

// splitPluginOutput separates stdout and stderr in a plugin's Output.
func splitPluginOutput(out string) (stdout, stderr string) {
	if i := strings.Index(out, pluginErrorTitle); i >= 0 {
		return out[:i], out[i+len(pluginErrorTitle):]
	}
	return out, ""
}

// results turns every invocation of cmds into one result per instance.
func (r *run) results(ctx context.Context, spec agent.Spec, insts []instance, cmds []*command) []transport.TargetResult {
	ctx = context.WithoutCancel(ctx)
	var out []transport.TargetResult
	seen := map[string]bool{}
	for _, c := range cmds {
		if c.notSent != nil {
			for _, id := range c.expected {
				res := baseResult(spec)
				res.Outcome, res.ExitCode = OutcomeNotRun, exitcode.Failed
				if errors.Is(c.notSent, errInterrupted) {
					res.Outcome = OutcomeCancelled
				}
				res.Error = c.notSent.Error()
				res.Hints = append(res.Hints, "this instance was not changed")
				out = append(out, transport.TargetResult{Target: id, Result: res})
				seen[id] = true
			}
			continue
		}
		if c.failed != nil {
			for _, id := range c.expected {
				res := baseResult(spec)
				res.Outcome, res.ExitCode = OutcomeNotRun, exitcode.Failed
				res.Error = "command not sent: " + c.failed.Error()
				res.Hints = append(res.Hints, "this instance was not changed")
				out = append(out, transport.TargetResult{Target: id, Result: res})
				seen[id] = true
			}
			continue
		}
		for id, inv := range c.invs {
			out = append(out, transport.TargetResult{Target: id, Result: r.resultOf(ctx, spec, c, inv)})
			seen[id] = true
		}
		for _, id := range c.expected {
			if seen[id] {
				continue
			}
			res := baseResult(spec)
			if c.byTags && c.done {
				res.Outcome, res.ExitCode = OutcomeNotRun, exitcode.Failed
				res.Error = "not run: the instance no longer matched the tags when SSM resolved the command's targets"
				res.Hints = append(res.Hints, "this instance was not changed")
			} else {
				res.Outcome, res.ExitCode = OutcomeUnknown, exitcode.RollbackFailed
				res.Error = fmt.Sprintf("SSM never listed an invocation of command %s on this instance", c.id)
				res.Hints = append(res.Hints, "look the command up in Run Command history, and check what serves with ferry status")
			}
			out = append(out, transport.TargetResult{Target: id, Result: res})
			seen[id] = true
		}
	}
	sortResults(out, insts)
	return out
}

func baseResult(spec agent.Spec) agent.Result {
	return agent.Result{Op: spec.Op, App: spec.App, Environment: spec.Environment, SHA: spec.SHA}
}

// resultOf reads the agent's result from the invocation's output: the
// plugin output first (2,500 bytes), else the full stdout SSM wrote to
// S3, else GetCommandInvocation's 24,000 bytes. An invocation without
// one is described from its status.
func (r *run) resultOf(ctx context.Context, spec agent.Spec, c *command, inv *invocation) agent.Result {
	stdout, stderr := splitPluginOutput(inv.output)
	if res, ok := ParseResult(stdout); ok {
		return res
	}
	ran := inv.started || inv.responseCode >= 0
	if ran {
		full, err := r.readOutput(ctx, c, inv, "stdout")
		if err == nil {
			if res, ok := ParseResult(full); ok {
				return res
			}
		} else {
			r.warn(inv.instance, "%s: read full output from S3: %v", inv.instance, err)
		}
		gctx, cancel := context.WithTimeout(ctx, callTimeout)
		out, err := r.c.ssm.GetCommandInvocation(gctx, &awsssm.GetCommandInvocationInput{CommandId: aws.String(c.id), InstanceId: aws.String(inv.instance)})
		cancel()
		if err == nil {
			if res, ok := ParseResult(aws.ToString(out.StandardOutputContent)); ok {
				return res
			}
			if e := aws.ToString(out.StandardErrorContent); e != "" {
				stderr = e
			}
		}
	}
	return r.describeInvocation(spec, c, inv, stderr)
}

// readOutput reads one stream of an invocation from the bucket, where SSM
// keeps it whole: <output prefix>/<command>/<instance>/<plugin>/<step>/stdout.
func (r *run) readOutput(ctx context.Context, c *command, inv *invocation, stream string) (string, error) {
	key := ""
	if u, err := url.Parse(inv.stdoutURL); err == nil && inv.stdoutURL != "" {
		if i := strings.Index(u.Path, "/"+c.id+"/"); i >= 0 {
			key = r.o.OutputPrefix + path.Dir(u.Path[i:]) + "/" + stream
		}
	}
	if key == "" {
		plugin := "awsrunShellScript"
		if c.document == DocumentWindows {
			plugin = "awsrunPowerShellScript"
		}
		key = path.Join(r.o.OutputPrefix, c.id, inv.instance, plugin, "0."+plugin, stream)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	obj, err := r.c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key)})
	if err != nil {
		return "", explain("get s3://"+r.o.Bucket+"/"+key, err)
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(io.LimitReader(obj.Body, 16<<20))
	if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", r.o.Bucket, key, err)
	}
	return string(b), nil
}

// describeInvocation explains an invocation that gave no agent result.
// When the agent never started nothing changed (exit 1); when it was
// stopped while running, what serves is unknown and a person must look
// (exit 4).
func (r *run) describeInvocation(spec agent.Spec, c *command, inv *invocation, stderr string) agent.Result {
	res := baseResult(spec)
	if !inv.startedAt.IsZero() && !inv.endedAt.IsZero() {
		res.DurationMS = inv.endedAt.Sub(inv.startedAt).Milliseconds()
	}
	notRun := func(outcome, msg string) {
		res.Outcome, res.ExitCode, res.Error = outcome, exitcode.Failed, msg
		res.Hints = append(res.Hints, "the agent did not run: this instance was not changed")
	}
	unknown := func(msg string) {
		res.Outcome, res.ExitCode, res.Error = OutcomeUnknown, exitcode.RollbackFailed, msg
		res.Hints = append(res.Hints, fmt.Sprintf("the agent was stopped mid-operation: check what serves with ferry status %s; full output under s3://%s/%s/%s/%s/",
			spec.Environment, r.o.Bucket, r.o.OutputPrefix, c.id, inv.instance))
	}
	switch inv.details {
	case "Terminated":
		notRun(OutcomeNotRun, fmt.Sprintf("not run: SSM stopped the rollout because more instances failed than max_errors (%s) allows", r.o.MaxErrors))
	case "DeliveryTimedOut":
		notRun(OutcomeNotRun, "not run: SSM could not deliver the command before it expired (the instance went offline?)")
	case "InvalidPlatform":
		notRun(OutcomeNotRun, "not run: the document does not run on this instance's platform")
	case "Undeliverable":
		if inv.started {
			unknown("the instance was lost while the agent ran (Undeliverable)")
		} else {
			notRun(OutcomeNotRun, "not run: SSM could not deliver the command (Undeliverable: the instance is gone, stopped, or its SSM Agent is not running)")
		}
	case "Cancelled", "Cancelling":
		if inv.started {
			unknown("cancelled while the agent ran: it was killed")
		} else {
			notRun(OutcomeCancelled, "cancelled before the agent started")
		}
	case "ExecutionTimedOut":
		unknown(fmt.Sprintf("the agent ran longer than the execution timeout (%s) and was killed", r.o.ExecutionTimeout))
	default:
		if !terminal(inv.status) {
			unknown(fmt.Sprintf("still %s when ferry stopped waiting", inv.status))
			break
		}
		last := lastLines(stderr, 3)
		switch {
		case strings.Contains(last, "ferry: ") && inv.responseCode != 0:
			res.Outcome, res.ExitCode = agent.OutcomeFailed, exitcode.Failed
			res.Error = "the script failed before the agent ran: " + last
			res.Hints = append(res.Hints, "this instance was not changed")
			return res
		case inv.responseCode == exitcode.Usage && !strings.Contains(stderr, "panic:"):
			// The agent refused its command line before doing anything.
			res.Outcome, res.ExitCode = agent.OutcomeInvalid, exitcode.Usage
			res.Error = "ferry-agent refused its command line: " + text.FirstLine(stderr)
			res.Hints = append(res.Hints, "this instance was not changed; the agent binary does not match this ferry (check FERRY_AGENT_DIR)")
			return res
		}
		msg := fmt.Sprintf("the agent exited %d (%s) without a result", inv.responseCode, inv.status)
		if last != "" {
			msg += ": " + last
		}
		unknown(msg)
	}
	return res
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "---") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
