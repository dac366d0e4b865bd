package ssm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/text"
)

// Documents ferry uses unless ssm.document names another.
const (
	DocumentLinux   = "AWS-RunShellScript"
	DocumentWindows = "AWS-RunPowerShellScript"
)

// maxIDsPerCommand is SendCommand's limit on InstanceIds.
const maxIDsPerCommand = 50

// command is one SendCommand and what is known of its invocations.
type command struct {
	id       string
	platform string
	document string
	comment  string
	// expected are the instances the preflight found for this command:
	// named in InstanceIds, or reached through Targets (byTags).
	expected []string
	byTags   bool
	sentAt   time.Time
	deadline time.Time
	invs     map[string]*invocation
	done     bool
	// failed holds, when the command could not be sent, why.
	failed error
	// notSent holds, for a command never sent (the fleet exceeded
	// MaxErrors, an earlier command failed or was cancelled), why.
	notSent error
	// cancelled: ferry cancelled it (interrupted, or past its deadline).
	cancelled bool
	// pollErr is the last polling error reported, so that a lasting
	// failure is reported once.
	pollErr string
}

// errorCount is how many of c's invocations count against MaxErrors, as
// SSM counts them: Failed, and Execution Timed Out.
func (c *command) errorCount() int {
	n := 0
	for _, inv := range c.invs {
		if inv.details == string(types.CommandInvocationStatusFailed) || inv.details == "ExecutionTimedOut" {
			n++
		}
	}
	return n
}

// invocation is one instance's copy of a command.
type invocation struct {
	instance     string
	status       string
	details      string
	responseCode int32
	started      bool
	output       string // plugin output (2,500 bytes at most), with Details
	stdoutURL    string
	startedAt    time.Time
	endedAt      time.Time
}

func (r *run) document(platform string) string {
	if r.o.Document != "" {
		return r.o.Document
	}
	if platform == PlatformWindows {
		return DocumentWindows
	}
	return DocumentLinux
}

// plan splits insts into the commands that carry them: one per platform
// and per 50 instances named by ID, or one with Targets when tags chose
// the fleet and it has one platform (SSM then resolves the tags and
// applies the rate control to the whole fleet itself).
func (r *run) plan(spec agent.Spec, insts []instance, tags bool) []*command {
	groups := map[string][]string{}
	for _, in := range insts {
		groups[in.Platform] = append(groups[in.Platform], in.ID)
	}
	platforms := make([]string, 0, len(groups))
	for p := range groups {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	var cmds []*command
	for _, platform := range platforms {
		ids := groups[platform]
		if tags && len(platforms) == 1 && len(r.o.Tags) <= 5 {
			return []*command{{platform: platform, document: r.document(platform), comment: comment(spec), invs: map[string]*invocation{}, expected: ids, byTags: true}}
		}
		for start := 0; start < len(ids); start += maxIDsPerCommand {
			chunk := ids[start:min(start+maxIDsPerCommand, len(ids))]
			cmds = append(cmds, &command{platform: platform, document: r.document(platform), comment: comment(spec), invs: map[string]*invocation{}, expected: chunk})
		}
	}
	return cmds
}

// runCommand sends spec as command c, with the rates its turn in the
// fleet's budget allows, and waits for it to end. Only one command runs
// at a time (run.turn). URLs are presigned now, for this command's own
// rollout.
func (r *run) runCommand(ctx context.Context, spec agent.Spec, c *command, b *budget) error {
	r.turn.Lock()
	defer r.turn.Unlock()
	conc, errs, waves := b.rates(r.o, len(c.expected))
	if spec.Source.Kind == "archive" && r.artifact.key != "" && spec.Source.SHA256 == r.artifact.digest {
		url, err := r.presign(ctx, r.artifact.key, r.presignExpiry(waves))
		if err != nil {
			return err
		}
		spec.Source.URL = url
	}
	spec, sealedKey, err := r.seal(ctx, spec, waves)
	if err != nil {
		return err
	}
	defer r.dropSealed(ctx, sealedKey)
	enc, err := spec.Encode()
	if err != nil {
		return fmt.Errorf("encode spec: %w", err)
	}
	amd64, arm64, err := r.agentURLs(ctx, c.platform, waves)
	if err != nil {
		return err
	}
	lines, err := RenderScript(c.platform, spec.Op, enc, amd64, arm64)
	if err != nil {
		return err
	}
	if err := r.sendOne(ctx, c, lines, waves, conc, errs); err != nil {
		return err
	}
	c.cancelled = r.wait(ctx, []*command{c})
	return nil
}

// comment names the deploy in the SSM console (at most 100 characters);
// the random tail finds this very command again after an ambiguous error.
func comment(spec agent.Spec) string {
	var b [4]byte
	rand.Read(b[:])
	s := "ferry " + spec.Op + " " + spec.App
	if spec.SHA != "" {
		s += " " + text.Short(spec.SHA)
	}
	if spec.Environment != "" {
		s += " to " + spec.Environment
	}
	tail := " #" + hex.EncodeToString(b[:])
	if len(s)+len(tail) > 100 {
		s = s[:100-len(tail)]
	}
	return s + tail
}

func (r *run) sendOne(ctx context.Context, c *command, lines []string, waves int, concurrency, maxErrors string) error {
	timeout := r.deliveryTimeout(waves)
	in := &awsssm.SendCommandInput{
		DocumentName: aws.String(c.document),
		Parameters: map[string][]string{
			"commands":         lines,
			"executionTimeout": {strconv.Itoa(int(r.o.ExecutionTimeout / time.Second))},
		},
		TimeoutSeconds:     aws.Int32(int32(timeout)),
		MaxConcurrency:     aws.String(concurrency),
		MaxErrors:          aws.String(maxErrors),
		OutputS3BucketName: aws.String(r.o.Bucket),
		OutputS3KeyPrefix:  aws.String(r.o.OutputPrefix),
		Comment:            aws.String(c.comment),
	}
	if c.byTags {
		keys := make([]string, 0, len(r.o.Tags))
		for k := range r.o.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			in.Targets = append(in.Targets, types.Target{Key: aws.String("tag:" + k), Values: []string{r.o.Tags[k]}})
		}
	} else {
		in.InstanceIds = c.expected
	}
	c.sentAt = time.Now()
	callCtx, cancel := context.WithTimeout(ctx, callTimeout)
	out, err := r.c.ssm.SendCommand(callCtx, in, func(o *awsssm.Options) { o.Retryer = sendRetryer() })
	cancel()
	if err != nil {
		if id, found := r.findSent(ctx, c); found {
			// The answer was lost but the command exists: adopt it, never send again.
			r.warn("", "SendCommand answered %v, but command %s with this deploy's comment exists: following it", err, id)
			out = &awsssm.SendCommandOutput{Command: &types.Command{CommandId: aws.String(id)}}
		} else {
			what := "send command"
			if apiCode(err) == "" || httpStatus(err) >= 500 {
				what = "send command (it may or may not have reached SSM; look for comment " + strconv.Quote(c.comment) + " in Run Command history before deploying again)"
			}
			return explain(what, err)
		}
	}
	c.id = aws.ToString(out.Command.CommandId)
	c.deadline = c.sentAt.Add(time.Duration(timeout)*time.Second + r.o.ExecutionTimeout + r.o.Margin)
	who := fmt.Sprintf("%d instances", len(c.expected))
	if c.byTags {
		who = "instances tagged " + tagList(r.o.Tags)
	}
	r.log("", "sent command %s (%s) to %s, max concurrency %s, max errors %s", c.id, c.document, who, concurrency, maxErrors)
	return nil
}

// findSent looks for a command with c's comment sent since just before
// c.sentAt: after an ambiguous SendCommand error it tells a command that
// SSM accepted from one it never saw.
func (r *run) findSent(ctx context.Context, c *command) (string, bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	after := c.sentAt.Add(-time.Minute).UTC().Format(time.RFC3339)
	p := awsssm.NewListCommandsPaginator(r.c.ssm, &awsssm.ListCommandsInput{
		Filters: []types.CommandFilter{{Key: types.CommandFilterKeyInvokedAfter, Value: aws.String(after)}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", false
		}
		for _, cmd := range page.Commands {
			if aws.ToString(cmd.Comment) == c.comment {
				return aws.ToString(cmd.CommandId), true
			}
		}
	}
	return "", false
}
