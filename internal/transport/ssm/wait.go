package ssm

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/poll"
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

// pollBackoff is the schedule between rounds of ListCommandInvocations:
// min while less than ten times min has passed, then growing by a tenth
// each round (so the wait is about a tenth of the time already waited) up
// to max, with ±20% jitter so that many ferry runs do not poll in step. A
// short deploy is seen to end quickly; a long one costs few calls.
func pollBackoff(lo, hi time.Duration) poll.Backoff {
	return poll.Backoff{Initial: lo, Max: hi, Factor: 1.1, Warm: 10 * lo, Jitter: 0.2}
}

// cancelBackoff paces the polls that wait for a cancelled command to end.
var cancelBackoff = poll.Backoff{Initial: 500 * time.Millisecond, Jitter: 0.2}

// untilAfterWait is poll.Until, except that the first attempt comes after
// the first wait, not at once: right after SendCommand or CancelCommand
// SSM has nothing new to say. ready is asked before every wait and ends
// the loop when true, so nothing is waited for once nothing is pending.
func untilAfterWait(ctx context.Context, b poll.Backoff, ready func() bool, try func(ctx context.Context)) error {
	first := true
	return poll.Until(ctx, b, func(ctx context.Context) (bool, error) {
		if !first {
			try(ctx)
		}
		first = false
		return ready(), nil
	})
}

// wait polls ListCommandInvocations until every command has ended. When
// ctx ends or a command passes its deadline, it cancels what still runs
// (CancelCommand) and waits a bounded time for SSM to say so. Finally it
// reads each command once more with Details, for the outputs. It reports
// whether anything was cancelled.
func (r *run) wait(ctx context.Context, cmds []*command) bool {
	cancelled := false
	done := func() bool { return len(unfinished(cmds)) == 0 }
	err := untilAfterWait(ctx, pollBackoff(r.o.PollMin, r.o.PollMax), done, func(ctx context.Context) {
		pending := unfinished(cmds)
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
	})
	if err != nil && !done() {
		// Only the context ends the loop early: the user's Ctrl-C or the
		// caller's deadline.
		r.warn("", "interrupted: cancelling the command on every instance still pending or running")
		r.cancel(ctx, unfinished(cmds))
		cancelled = true
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
	// The grace ending is the expected way out when SSM is slow to stop:
	// what is known is reported below.
	_ = untilAfterWait(cctx, cancelBackoff, func() bool { return len(unfinished(cmds)) == 0 }, func(ctx context.Context) {
		for _, c := range unfinished(cmds) {
			r.poll(ctx, c, false)
		}
	})
	for _, c := range unfinished(cmds) {
		c.done = true // reported from what is known
	}
}

func unfinished(cmds []*command) []*command {
	var out []*command
	for _, c := range cmds {
		if !c.done && c.failed == nil && c.notSent == nil && c.id != "" {
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
