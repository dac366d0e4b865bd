package ssmemu_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// The whole life of a successful invocation, seen through aws-sdk-go-v2:
// Pending/InProgress with ResponseCode -1 and no output while the script runs,
// then Success with the output, and the command-level counts.
func TestLifecycleSuccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	id, dir := f.ids[0], f.dirs[0]
	gate := filepath.Join(f.shared, "go")
	cmdID := f.send(t, &ssm.SendCommandInput{
		InstanceIds: []string{id},
		Comment:     aws.String("lifecycle"),
		Parameters: script(
			"echo early",
			`while [ ! -f "$SHARED/go" ]; do sleep 0.02; done`,
			`echo "id=$SSMEMU_INSTANCE_ID dir=$SSMEMU_INSTANCE_DIR pwd=$(pwd) agent=$AWS_SSM_INSTANCE_ID"`,
			"echo oops >&2",
		),
	})

	var seen []string
	eventually(t, "InProgress", func() bool {
		out, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &id})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		seen = append(seen, string(out.Status))
		if out.ResponseCode != -1 || out.StandardOutputContent != nil && *out.StandardOutputContent != "" {
			t.Fatalf("running invocation: ResponseCode %d, stdout %q; want -1 and empty", out.ResponseCode, aws.ToString(out.StandardOutputContent))
		}
		return out.Status == types.CommandInvocationStatusInProgress
	})
	if st := f.command(t, cmdID); st.Status != "InProgress" || st.Completed != 0 {
		t.Fatalf("command while running: %+v", st)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := f.wait(t, cmdID, id)
	if out.Status != types.CommandInvocationStatusSuccess || aws.ToString(out.StatusDetails) != "Success" || out.ResponseCode != 0 {
		t.Fatalf("final: %s/%s code %d", out.Status, aws.ToString(out.StatusDetails), out.ResponseCode)
	}
	wantOut := "early\nid=" + id + " dir=" + dir + " pwd=" + dir + " agent=" + id + "\n"
	if got := aws.ToString(out.StandardOutputContent); got != wantOut {
		t.Errorf("stdout = %q, want %q", got, wantOut)
	}
	if got := aws.ToString(out.StandardErrorContent); got != "oops\n" {
		t.Errorf("stderr = %q", got)
	}
	if aws.ToString(out.PluginName) != "aws:runShellScript" || aws.ToString(out.DocumentVersion) != "$DEFAULT" || aws.ToString(out.Comment) != "lifecycle" {
		t.Errorf("plugin %q version %q comment %q", aws.ToString(out.PluginName), aws.ToString(out.DocumentVersion), aws.ToString(out.Comment))
	}
	if aws.ToString(out.ExecutionStartDateTime) == "" || aws.ToString(out.ExecutionEndDateTime) == "" || !strings.HasPrefix(aws.ToString(out.ExecutionElapsedTime), "PT") {
		t.Errorf("times: start %q end %q elapsed %q", aws.ToString(out.ExecutionStartDateTime), aws.ToString(out.ExecutionEndDateTime), aws.ToString(out.ExecutionElapsedTime))
	}
	if aws.ToString(out.StandardOutputUrl) != "" {
		t.Errorf("no bucket was given but StandardOutputUrl = %q", aws.ToString(out.StandardOutputUrl))
	}
	if st := f.command(t, cmdID); st != (ssmCommand{Status: "Success", Details: "Success", Target: 1, Completed: 1}) {
		t.Errorf("command: %+v", st)
	}

	list, err := f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{CommandId: &cmdID, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.CommandInvocations) != 1 || len(list.CommandInvocations[0].CommandPlugins) != 1 {
		t.Fatalf("invocations: %+v", list.CommandInvocations)
	}
	p := list.CommandInvocations[0].CommandPlugins[0]
	if aws.ToString(p.Name) != "aws:runShellScript" || p.Status != types.CommandPluginStatusSuccess || p.ResponseStartDateTime == nil {
		t.Errorf("plugin: %s %s %v", aws.ToString(p.Name), p.Status, p.ResponseStartDateTime)
	}
	if want := wantOut + "\n----------ERROR-------\noops\n"; aws.ToString(p.Output) != want {
		t.Errorf("plugin output = %q, want %q", aws.ToString(p.Output), want)
	}
	t.Logf("statuses seen before the gate opened: %v", seen)
}

func TestFailureCarriesExitCodeAndWorkingDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	id := f.ids[0]
	sub := filepath.Join(f.dirs[0], "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	cmdID := f.send(t, &ssm.SendCommandInput{
		InstanceIds: []string{id},
		Parameters:  map[string][]string{"commands": {"pwd", "exit 3"}, "workingDirectory": {"sub"}},
	})
	out := f.wait(t, cmdID, id)
	if out.Status != types.CommandInvocationStatusFailed || aws.ToString(out.StatusDetails) != "Failed" || out.ResponseCode != 3 {
		t.Fatalf("got %s/%s code %d, want Failed/Failed 3", out.Status, aws.ToString(out.StatusDetails), out.ResponseCode)
	}
	if got := aws.ToString(out.StandardOutputContent); got != sub+"\n" {
		t.Errorf("stdout %q, want the working directory %q", got, sub)
	}
	if st := f.command(t, cmdID); st != (ssmCommand{Status: "Failed", Details: "Failed", Target: 1, Completed: 1, Errors: 1}) {
		t.Errorf("command: %+v", st)
	}

	missing := f.send(t, &ssm.SendCommandInput{
		InstanceIds: []string{id},
		Parameters:  map[string][]string{"commands": {"echo never"}, "workingDirectory": {"/does/not/exist"}},
	})
	out = f.wait(t, missing, id)
	if out.Status != types.CommandInvocationStatusFailed || !strings.Contains(aws.ToString(out.StandardErrorContent), "/does/not/exist") {
		t.Errorf("missing working directory: %s, stderr %q", out.Status, aws.ToString(out.StandardErrorContent))
	}
}

// Exit 194 asks the Linux agent to reboot and run the script again.
func TestRebootExitCodeRerunsScript(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	cmdID := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script(
		`if [ ! -f rebooted ]; then touch rebooted; echo before; exit 194; fi`,
		"echo after",
	)})
	out := f.wait(t, cmdID, f.ids[0])
	if out.Status != types.CommandInvocationStatusSuccess || aws.ToString(out.StandardOutputContent) != "before\nafter\n" {
		t.Fatalf("got %s, stdout %q", out.Status, aws.ToString(out.StandardOutputContent))
	}

	always := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script("echo x >> runs", "exit 194")})
	out = f.wait(t, always, f.ids[0])
	runs, _ := os.ReadFile(filepath.Join(f.dirs[0], "runs"))
	if out.Status != types.CommandInvocationStatusFailed || out.ResponseCode != 194 || strings.Count(string(runs), "x") != 4 {
		t.Errorf("endless reboot: %s code %d after %d runs, want Failed 194 after 1+3", out.Status, out.ResponseCode, strings.Count(string(runs), "x"))
	}
}

// Targets resolve against tags; a Windows instance selected by a tag gets an
// InvalidPlatform invocation instead of running a shell script.
func TestTargetsByTag(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 4, configure: func(i int, in *ssmemu.Instance) {
		role := []string{"web", "web", "db", "web"}[i]
		in.Tags = map[string]string{"Role": role}
		if i == 3 {
			in.Platform = ssmemu.PlatformWindows
		}
	}})
	out, err := f.ssm.SendCommand(ctx(t), &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"),
		Targets:      []types.Target{{Key: aws.String("tag:Role"), Values: []string{"web"}}},
		Parameters:   script("echo $SSMEMU_INSTANCE_ID"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cmdID := *out.Command.CommandId
	if out.Command.TargetCount != 0 || len(out.Command.InstanceIds) != 0 {
		t.Errorf("send answer: TargetCount %d InstanceIds %v, want 0 and []", out.Command.TargetCount, out.Command.InstanceIds)
	}
	for _, id := range f.ids[:2] {
		if got := f.wait(t, cmdID, id); got.Status != types.CommandInvocationStatusSuccess || aws.ToString(got.StandardOutputContent) != id+"\n" {
			t.Errorf("%s: %s %q", id, got.Status, aws.ToString(got.StandardOutputContent))
		}
	}
	win := f.wait(t, cmdID, f.ids[3])
	if win.Status != types.CommandInvocationStatusFailed || aws.ToString(win.StatusDetails) != "InvalidPlatform" || win.ResponseCode != -1 {
		t.Errorf("windows: %s/%s %d", win.Status, aws.ToString(win.StatusDetails), win.ResponseCode)
	}
	if _, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &f.ids[2]}); errorCode(err) != "InvocationDoesNotExist" {
		t.Errorf("db instance was not targeted, got %v", err)
	}
	if st := f.command(t, cmdID); st.Target != 3 || st.Completed != 3 || st.Details != "Incomplete" {
		t.Errorf("command: %+v", st)
	}

	none := f.send(t, &ssm.SendCommandInput{
		Targets:    []types.Target{{Key: aws.String("tag:Role"), Values: []string{"cache"}}},
		Parameters: script("true"),
	})
	eventually(t, "empty target set", func() bool { return f.command(t, none).Details == "NoInstancesInTag" })
}

func TestRemovedInstanceIsUndeliverable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 2})
	cmdID := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script("sleep 30")})
	eventually(t, "both running", func() bool { return f.command(t, cmdID).Status == "InProgress" })
	if err := f.emu.RemoveInstance(f.ids[1]); err != nil {
		t.Fatal(err)
	}
	out := f.wait(t, cmdID, f.ids[1])
	if out.Status != types.CommandInvocationStatusFailed || aws.ToString(out.StatusDetails) != "Undeliverable" || out.ResponseCode != -1 {
		t.Errorf("removed: %s/%s %d", out.Status, aws.ToString(out.StatusDetails), out.ResponseCode)
	}
	if _, err := f.ssm.CancelCommand(ctx(t), &ssm.CancelCommandInput{CommandId: &cmdID}); err != nil {
		t.Fatal(err)
	}
	f.wait(t, cmdID, f.ids[0])
}
