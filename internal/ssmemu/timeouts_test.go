package ssmemu_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// An instance that is not Online never takes delivery: the invocation stays
// Pending (ResponseCode -1) until the command expires after TimeoutSeconds
// plus executionTimeout, then ends Delivery Timed Out. Scaled: 30+30 s -> 0.6 s.
func TestDeliveryTimeoutForOfflineInstance(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{opts: ssmemu.Options{TimeScale: 0.01}, configure: func(_ int, in *ssmemu.Instance) {
		in.PingStatus = ssmemu.PingConnectionLost
	}})
	id := f.ids[0]
	start := time.Now()
	out, err := f.ssm.SendCommand(ctx(t), &ssm.SendCommandInput{
		DocumentName:   aws.String("AWS-RunShellScript"),
		InstanceIds:    []string{id},
		TimeoutSeconds: aws.Int32(30),
		Parameters:     map[string][]string{"commands": {"touch ran"}, "executionTimeout": {"30"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmdID := *out.Command.CommandId
	if got := out.Command.ExpiresAfter.Sub(*out.Command.RequestedDateTime); got < 590*time.Millisecond || got > 610*time.Millisecond {
		t.Errorf("ExpiresAfter - RequestedDateTime = %v, want (30+30) s scaled = 600ms", got)
	}
	// Asked at once, it is Pending. On a loaded machine the answer may come
	// after the expiry: only an answer that came before it must be Pending.
	mid, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &id})
	answered := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if answered.Before(*out.Command.ExpiresAfter) && (mid.Status != types.CommandInvocationStatusPending || mid.ResponseCode != -1) {
		t.Errorf("before expiry: %s %d, want Pending -1", mid.Status, mid.ResponseCode)
	}
	end := f.wait(t, cmdID, id)
	if end.Status != types.CommandInvocationStatusTimedOut || aws.ToString(end.StatusDetails) != "DeliveryTimedOut" || end.ResponseCode != -1 {
		t.Fatalf("got %s/%s %d, want TimedOut/DeliveryTimedOut -1", end.Status, aws.ToString(end.StatusDetails), end.ResponseCode)
	}
	if d := time.Since(start); d < 550*time.Millisecond {
		t.Errorf("delivery timed out after %v, before the command expired", d)
	}
	if _, err := os.Stat(filepath.Join(f.dirs[0], "ran")); err == nil {
		t.Errorf("the script ran on an offline instance")
	}
	if st := f.command(t, cmdID); st != (ssmCommand{Status: "TimedOut", Details: "DeliveryTimedOut", Target: 1, Completed: 1, DeliveryTimedOut: 1}) {
		t.Errorf("command: %+v", st)
	}
}

// An instance that comes back within TimeoutSeconds gets the command; one
// that goes offline while its script runs reports only once it is back.
func TestInstanceComesBackOnline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 2, opts: ssmemu.Options{TimeScale: 0.01}, configure: func(i int, in *ssmemu.Instance) {
		if i == 0 {
			in.PingStatus = ssmemu.PingConnectionLost
		}
	}})
	late, flaky := f.ids[0], f.ids[1]
	cmdID := f.send(t, &ssm.SendCommandInput{
		InstanceIds: f.ids,
		// The longest delivery window and execution timeout SSM allows:
		// scaled, hours, which no loaded machine outlasts.
		TimeoutSeconds: aws.Int32(2592000),
		Parameters: map[string][]string{"executionTimeout": {"172800"}, "commands": {
			`[ "$SSMEMU_INSTANCE_ID" = "` + late + `" ] || { touch "$SHARED/flaky-started"; while [ ! -f "$SHARED/go" ]; do sleep 0.02; done; }`,
			"echo done",
		}},
	})
	eventually(t, "flaky instance running", func() bool { _, err := os.Stat(filepath.Join(f.shared, "flaky-started")); return err == nil })
	if err := f.emu.SetPingStatus(flaky, ssmemu.PingConnectionLost); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.shared, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	out, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &flaky})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != types.CommandInvocationStatusInProgress || aws.ToString(out.StandardOutputContent) != "" {
		t.Errorf("finished while offline: %s %q, want InProgress with no output until the agent reconnects", out.Status, aws.ToString(out.StandardOutputContent))
	}
	for _, id := range f.ids {
		if err := f.emu.SetPingStatus(id, ssmemu.PingOnline); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range f.ids {
		if got := f.wait(t, cmdID, id); got.Status != types.CommandInvocationStatusSuccess || aws.ToString(got.StandardOutputContent) != "done\n" {
			t.Errorf("%s: %s %q", id, got.Status, aws.ToString(got.StandardOutputContent))
		}
	}
}

// Windows instances exist for preflight only: nothing is delivered to them.
func TestWindowsInstanceNeverTakesDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{opts: ssmemu.Options{TimeScale: 0.01}, configure: func(_ int, in *ssmemu.Instance) {
		in.Platform = ssmemu.PlatformWindows
		in.Dir = ""
	}})
	cmdID := f.send(t, &ssm.SendCommandInput{
		DocumentName:   aws.String("AWS-RunPowerShellScript"),
		InstanceIds:    f.ids,
		TimeoutSeconds: aws.Int32(30),
		Parameters:     map[string][]string{"commands": {"Write-Output hi"}, "executionTimeout": {"30"}},
	})
	out := f.wait(t, cmdID, f.ids[0])
	if aws.ToString(out.StatusDetails) != "DeliveryTimedOut" || aws.ToString(out.PluginName) != "aws:runPowerShellScript" {
		t.Errorf("windows: %s/%s plugin %s", out.Status, aws.ToString(out.StatusDetails), aws.ToString(out.PluginName))
	}
}
