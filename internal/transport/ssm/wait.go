package ssm

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// cancelGrace bounds how long ferry waits, after CancelCommand, for SSM to
// report the invocations stopped.
const cancelGrace = 90 * time.Second

func terminal(status string) bool {
	switch types.CommandInvocationStatus(status) {
	case types.CommandInvocationStatusSuccess, types.CommandInvocationStatusCancelled,
		types.CommandInvocationStatusTimedOut, types.CommandInvocationStatusFailed:
		return true
	}
	return false
}

// pollInterval grows with the time already waited (a tenth of it) between
// min and max, with ±20% jitter so that many ferry runs do not poll in
// step. A short deploy is seen to end quickly; a long one costs few calls.
func pollInterval(waited, lo, hi time.Duration) time.Duration {
	d := min(max(waited/10, lo), hi)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// wait polls ListCommandInvocations until every command has ended. When
// ctx ends or a command passes its deadline, it cancels what still runs
// (CancelCommand) and waits a bounded time for SSM to say so. Finally it
// reads each command once more with Details, for the outputs. It reports
// whether anything was cancelled.
func (r *run) wait(ctx context.Context, cmds []*command) bool {
	start := time.Now()
	cancelled := false
	for {
		pending := unfinished(cmds)
		if len(pending) == 0 {
			break
		}
		timer := time.NewTimer(pollInterval(time.Since(start), r.o.PollMin, r.o.PollMax))
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		if ctx.Err() != nil {
			r.warn("", "interrupted: cancelling the command on every instance still pending or running")
			r.cancel(ctx, pending)
			cancelled = true
			break
		}
		var late []*command
		for _, c := range pending {
			if time.Now().After(c.deadline) {
				late = append(late, c)
			}
		}
		if len(late) > 0 {
			r.warn("", "command passed its deadline (delivery timeout + execution timeout + margin): cancelling it")
			r.cancel(ctx, late)
			cancelled = true
		}
		for _, c := range pending {
			r.poll(ctx, c, false)
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	for _, c := range cmds {
		if c.id != "" {
			r.poll(fctx, c, true)
		}
	}
	return cancelled
}

// cancel asks SSM to stop cmds, then polls them until they end or the
// grace runs out. It works on after ctx ended: the user's Ctrl-C must
// stop the servers, not only ferry.
func (r *run) cancel(ctx context.Context, cmds []*command) {
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
	defer stop()
	for _, c := range cmds {
		if c.id == "" {
			continue
		}
		callCtx, cancel := context.WithTimeout(cctx, callTimeout)
		_, err := r.c.ssm.CancelCommand(callCtx, &awsssm.CancelCommandInput{CommandId: aws.String(c.id)})
		cancel()
		if err != nil {
			r.warn("", "cancel command %s: %v", c.id, err)
		}
	}
	for len(unfinished(cmds)) > 0 && cctx.Err() == nil {
		select {
		case <-cctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
		for _, c := range unfinished(cmds) {
			r.poll(cctx, c, false)
		}
	}
	for _, c := range unfinished(cmds) {
		c.done = true // reported from what is known
	}
}

func unfinished(cmds []*command) []*command {
	var out []*command
	for _, c := range cmds {
		if !c.done && c.failed == nil && c.id != "" {
			out = append(out, c)
		}
	}
	return out
}

// poll reads every invocation of c (50 per call) and reports status
// changes; with details it also keeps each one's output. Errors are
// reported and the next round tries again: the command runs on anyway.
func (r *run) poll(ctx context.Context, c *command, details bool) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	p := awsssm.NewListCommandInvocationsPaginator(r.c.ssm, &awsssm.ListCommandInvocationsInput{
		CommandId: aws.String(c.id), MaxResults: aws.Int32(50), Details: details,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if code := apiCode(err); code == "InvocationDoesNotExist" || code == "InvalidCommandId" {
				return // not visible yet
			}
			if msg := err.Error(); ctx.Err() == nil && msg != c.pollErr {
				c.pollErr = msg
				r.warn("", "list invocations of %s: %v (will retry)", c.id, explain("poll", err))
			}
			return
		}
		for _, ci := range page.CommandInvocations {
			r.update(c, ci, details)
		}
	}
	if c.allListedTerminal() {
		if !c.byTags {
			c.done = true
			return
		}
		// With Targets, SSM may list invocations as it resolves them: the
		// command's own status says when the list is complete.
		out, err := r.c.ssm.ListCommands(ctx, &awsssm.ListCommandsInput{CommandId: aws.String(c.id)})
		if err == nil && len(out.Commands) == 1 {
			cmd := out.Commands[0]
			switch cmd.Status {
			case types.CommandStatusSuccess, types.CommandStatusFailed, types.CommandStatusTimedOut, types.CommandStatusCancelled:
				c.done = int(cmd.TargetCount) <= len(c.invs)
			}
		}
	}
}

// allListedTerminal says whether every invocation SSM listed has ended
// and, for InstanceIds, every instance was listed. With Targets the list
// may be empty or short (an instance lost its tag): the command's status
// decides then.
func (c *command) allListedTerminal() bool {
	if !c.byTags {
		for _, id := range c.expected {
			if c.invs[id] == nil {
				return false
			}
		}
	}
	for _, inv := range c.invs {
		if !terminal(inv.status) {
			return false
		}
	}
	return true
}

func (r *run) update(c *command, ci types.CommandInvocation, details bool) {
	id := aws.ToString(ci.InstanceId)
	inv := c.invs[id]
	if inv == nil {
		inv = &invocation{instance: id, responseCode: -1}
		c.invs[id] = inv
	}
	old := inv.status
	inv.status, inv.details = string(ci.Status), aws.ToString(ci.StatusDetails)
	if inv.status == string(types.CommandInvocationStatusInProgress) {
		inv.started = true
	}
	if details && len(ci.CommandPlugins) > 0 {
		pl := ci.CommandPlugins[0]
		inv.responseCode = pl.ResponseCode
		inv.output = aws.ToString(pl.Output)
		inv.stdoutURL = aws.ToString(pl.StandardOutputUrl)
		if pl.ResponseStartDateTime != nil {
			inv.started = true
			inv.startedAt = *pl.ResponseStartDateTime
		}
		if pl.ResponseFinishDateTime != nil {
			inv.endedAt = *pl.ResponseFinishDateTime
		}
	}
	if inv.status == old {
		return
	}
	switch {
	case inv.status == string(types.CommandInvocationStatusInProgress):
		r.log(id, "%s: running", id)
	case inv.status == string(types.CommandInvocationStatusDelayed):
		r.log(id, "%s: delayed by SSM", id)
	case terminal(inv.status):
		msg := inv.status
		if inv.details != "" && inv.details != inv.status {
			msg += " (" + inv.details + ")"
		}
		if inv.status == string(types.CommandInvocationStatusSuccess) {
			r.log(id, "%s: %s", id, msg)
		} else {
			r.warn(id, "%s: %s", id, msg)
		}
	}
}
