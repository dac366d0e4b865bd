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
	// pollErr is the last polling error reported, so that a lasting
	// failure is reported once.
	pollErr string
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

// send renders the script for each platform of insts and sends one
// command per platform (per 50 instances when named by ID; by tag when
// tags is set and the fleet has one platform). A command
// that could not be sent is returned with its error so that its
// instances are reported; only when nothing at all was sent is the
// error returned.
func (r *run) send(ctx context.Context, spec agent.Spec, enc string, insts []instance, tags bool) ([]*command, error) {
	groups := map[string][]string{}
	for _, in := range insts {
		groups[in.Platform] = append(groups[in.Platform], in.ID)
	}
	platforms := make([]string, 0, len(groups))
	for p := range groups {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	waves := r.waves(len(insts))
	var cmds []*command
	for _, platform := range platforms {
		pair := r.agents[platform]
		lines, err := RenderScript(platform, spec.Op, enc, pair[0], pair[1])
		if err != nil {
			return nil, err
		}
		ids := groups[platform]
		useTags := tags && len(platforms) == 1 && len(r.o.Tags) <= 5
		for start := 0; start < len(ids); start += maxIDsPerCommand {
			chunk := ids[start:min(start+maxIDsPerCommand, len(ids))]
			c := &command{platform: platform, document: r.document(platform), comment: comment(spec), invs: map[string]*invocation{}, expected: chunk, byTags: useTags}
			if useTags {
				c.expected = ids
			}
			if err := r.sendOne(ctx, c, lines, waves); err != nil {
				if len(cmds) == 0 {
					return nil, err
				}
				c.failed = err
				r.warn("", "%v", err)
			}
			cmds = append(cmds, c)
			if useTags {
				break
			}
		}
	}
	return cmds, nil
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

func (r *run) sendOne(ctx context.Context, c *command, lines []string, waves int) error {
	timeout := r.deliveryTimeout(waves)
	in := &awsssm.SendCommandInput{
		DocumentName: aws.String(c.document),
		Parameters: map[string][]string{
			"commands":         lines,
			"executionTimeout": {strconv.Itoa(int(r.o.ExecutionTimeout / time.Second))},
		},
		TimeoutSeconds:     aws.Int32(int32(timeout)),
		MaxConcurrency:     aws.String(r.o.MaxConcurrency),
		MaxErrors:          aws.String(r.o.MaxErrors),
		OutputS3BucketName: aws.String(r.o.Bucket),
		OutputS3KeyPrefix:  aws.String(r.o.Prefix + "/output"),
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
	r.log("", "sent command %s (%s) to %s, max concurrency %s, max errors %s", c.id, c.document, who, r.o.MaxConcurrency, r.o.MaxErrors)
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
