package ssmemu_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// The SDK's standard retryer retries ThrottlingException: three logical calls
// with every second request throttled cost five requests and all succeed.
func TestThrottlingIsRetriedBySDK(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	id := f.ids[0]
	cmdID := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script("true")})
	f.wait(t, cmdID, id)

	f.emu.ResetCalls()
	f.emu.SetThrottle(ssmemu.ThrottleRule{Operation: "GetCommandInvocation", Every: 2})
	for range 3 {
		if _, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &id}); err != nil {
			t.Fatalf("throttled call not retried to success: %v", err)
		}
	}
	if _, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{}); err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for _, c := range f.emu.Calls() {
		if c.Error == "ThrottlingException" {
			throttled++
		}
	}
	if n := f.emu.CallCount("GetCommandInvocation"); n != 5 || throttled != 2 {
		t.Errorf("%d GetCommandInvocation requests, %d throttled; want 5 and 2", n, throttled)
	}
	if n := f.emu.CallCountFor("GetCommandInvocation", id); n != 5 {
		t.Errorf("per-instance count %d, want 5", n)
	}
	if n := f.emu.CallCount("ListCommands"); n != 1 {
		t.Errorf("ListCommands throttled though the rule names another operation: %d requests", n)
	}

	// With every call throttled the retryer gives up and the error surfaces.
	f.emu.SetThrottle(ssmemu.ThrottleRule{Every: 1})
	_, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{})
	if errorCode(err) != "ThrottlingException" {
		t.Errorf("got %v, want ThrottlingException", err)
	}
}

// A seeded fraction throttles the same calls every run.
func TestThrottleFractionIsDeterministic(t *testing.T) {
	t.Parallel()
	pattern := func() []bool {
		f := newFixture(t, fixtureOpts{})
		f.emu.SetThrottle(ssmemu.ThrottleRule{Fraction: 0.5, Seed: 42})
		var out []bool
		for range 40 {
			_, body := rawCall(t, f.srv.URL, "ListCommands", "{}", true)
			out = append(out, body["__type"] == "ThrottlingException")
		}
		return out
	}
	a, b := pattern(), pattern()
	hits := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d throttled differently across runs", i)
		}
		if a[i] {
			hits++
		}
	}
	if hits < 8 || hits > 32 {
		t.Errorf("%d of 40 calls throttled at fraction 0.5", hits)
	}
}

// Right after SendCommand the command may not be visible yet:
// GetCommandInvocation answers InvocationDoesNotExist and
// ListCommandInvocations an empty list.
func TestVisibilityDelay(t *testing.T) {
	t.Parallel()
	// Only answers that came within the delay must be "not yet": on a
	// loaded machine they may come later, and then the delay doubles.
	for delay := 400 * time.Millisecond; ; delay *= 2 {
		f := newFixture(t, fixtureOpts{opts: ssmemu.Options{VisibilityDelay: delay}})
		id := f.ids[0]
		sent := time.Now()
		cmdID := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script("echo visible")})
		_, getErr := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &id})
		list, listErr := f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{CommandId: &cmdID})
		if time.Since(sent) >= delay {
			if delay > time.Minute {
				t.Fatal("the machine never answered within the visibility delay")
			}
			continue
		}
		if errorCode(getErr) != "InvocationDoesNotExist" {
			t.Errorf("GetCommandInvocation right after send: %v, want InvocationDoesNotExist", getErr)
		}
		if listErr != nil || len(list.CommandInvocations) != 0 {
			t.Errorf("ListCommandInvocations right after send: %v, %d invocations, want an empty list", listErr, len(list.CommandInvocations))
		}
		if out := f.wait(t, cmdID, id); *out.StandardOutputContent != "visible\n" {
			t.Errorf("after the delay: %q", *out.StandardOutputContent)
		}
		return
	}
}
