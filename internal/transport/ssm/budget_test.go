package ssm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/ssmemu"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// stubAgent stands in for ferry-agent where only SSM's rate control is
// under test: it answers a result at once (after a short pause, so that
// invocations overlap as real ones do), failing on the instances that
// have a file $STUB_DIR/fail.<instance>.
const stubAgent = `#!/bin/sh
sleep 0.3
if [ -f "$STUB_DIR/fail.$SSMEMU_INSTANCE_ID" ]; then
	echo '{"event":"result","result":{"op":"'"$1"'","outcome":"failed","exit_code":1,"error":"stub: failing on purpose","duration_ms":300}}'
	exit 1
fi
echo '{"event":"result","result":{"op":"'"$1"'","outcome":"ok","exit_code":0,"duration_ms":300}}'
`

// stubFleet is a sandbox of n instances that run stubAgent.
type stubFleet struct {
	sb     *sandbox.Sandbox
	ids    []string
	stub   string // STUB_DIR
	agents string // the agents' directory
	opts   ssm.Options
}

func newStubFleet(t *testing.T, n int) *stubFleet {
	t.Helper()
	need(t, "sh", "curl")
	base := t.TempDir()
	agents, stub := filepath.Join(base, "agents"), filepath.Join(base, "stub")
	for _, d := range []string{agents, stub} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, goos := range []string{"linux", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			body := stubAgent
			if goos != runtime.GOOS {
				body = "stand-in\n"
			}
			if err := os.WriteFile(filepath.Join(agents, agentbin.FileName(goos, arch)), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	sb, err := sandbox.Start(sandbox.Options{Root: filepath.Join(base, "sandbox"), Instances: n,
		Env: []string{"FERRY_AGENT_CACHE=" + filepath.Join(base, "agent-cache"), "STUB_DIR=" + stub}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	f := &stubFleet{sb: sb, stub: stub, agents: agents}
	for _, in := range sb.Instances {
		f.ids = append(f.ids, in.ID)
	}
	cfg := sb.AWSConfig()
	f.opts = ssm.Options{Region: sb.Region, InstanceIDs: f.ids, Bucket: sb.Bucket, Prefix: "ferry",
		ExecutionTimeout: time.Hour, MaxConcurrency: "10", MaxErrors: "0", Agents: agentbin.InDir(agents), AWSConfig: &cfg,
		PollMin: 100 * time.Millisecond, PollMax: time.Second}
	return f
}

func (f *stubFleet) fail(ids ...string) {
	for _, id := range ids {
		os.WriteFile(filepath.Join(f.stub, "fail."+id), nil, 0o644)
	}
}

func (f *stubFleet) run(t *testing.T, mod func(*ssm.Options)) []transport.TargetResult {
	t.Helper()
	o := f.opts
	o.InstanceIDs = append([]string(nil), o.InstanceIDs...)
	if mod != nil {
		mod(&o)
	}
	tr, err := ssm.New(o)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err := tr.Run(testCtx(t), agent.Spec{Protocol: agent.Protocol, Op: agent.OpStatus, Root: "~/app", App: "stub", Environment: "test"}, rec.progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	if len(res) != len(o.InstanceIDs) {
		t.Fatalf("%d results for %d instances", len(res), len(o.InstanceIDs))
	}
	return res
}

// polledInTurn checks that each command was read (ListCommandInvocations)
// only between its SendCommand and the next one: a command that has
// ended costs no more calls, so the calls grow with the fleet, not with
// the fleet times the commands.
func polledInTurn(t *testing.T, calls []ssmemu.Call) {
	t.Helper()
	var order []string
	for _, c := range calls {
		if c.Operation == "SendCommand" && c.Error == "" && c.CommandID != "" {
			order = append(order, c.CommandID)
		}
	}
	turn := -1
	for _, c := range calls {
		switch c.Operation {
		case "SendCommand":
			if c.Error == "" {
				turn++
			}
		case "ListCommandInvocations", "GetCommandInvocation":
			if turn < 0 || turn >= len(order) || c.CommandID != order[turn] {
				t.Errorf("%s of command %s during the turn of command %d: a command that ended was read again, or one was read before it was sent", c.Operation, c.CommandID, turn)
				return
			}
		}
	}
}

func counts(calls []ssmemu.Call) string {
	by := map[string]int{}
	for _, c := range calls {
		by[c.Operation]++
	}
	var parts []string
	for _, op := range []string{"DescribeInstanceInformation", "SendCommand", "ListCommandInvocations", "ListCommands", "GetCommandInvocation", "CancelCommand"} {
		if by[op] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, by[op]))
		}
	}
	return fmt.Sprintf("%d SSM calls (%s)", len(calls), strings.Join(parts, ", "))
}

// Item 10 of the hardening issue. A fleet of 200 instances named by ID
// takes four commands (SSM's limit is 50 IDs each); max_concurrency holds
// for the whole fleet: "10" runs 10 agents at once, not 10 per command
// (40), and "10%" is of the fleet (20), as the emulator's count of
// invocations running at once shows. Each command is polled only while
// it runs; the SSM calls for 50, 100 and 200 instances are logged.
func TestFleetOf200HoldsMaxConcurrency(t *testing.T) {
	t.Parallel()
	f := newStubFleet(t, 200)
	emu := f.sb.Emulator
	for _, n := range []int{50, 100, 200} {
		emu.ResetCalls()
		emu.ResetPeak()
		res := f.run(t, func(o *ssm.Options) { o.InstanceIDs = f.ids[:n] })
		for _, r := range res {
			if r.Result.ExitCode != 0 {
				t.Fatalf("%s: %s %s", r.Target, r.Result.Outcome, r.Result.Error)
			}
		}
		calls := emu.Calls()
		polledInTurn(t, calls)
		sends := emu.CallCount("SendCommand")
		if want := (n + 49) / 50; sends != want {
			t.Errorf("%d instances: %d SendCommand calls, want %d", n, sends, want)
		}
		if peak := emu.PeakRunning(); peak != 10 {
			t.Errorf("%d instances at max_concurrency 10: %d agents ran at once", n, peak)
		}
		t.Logf("%d instances at max_concurrency 10: %s; at most %d agents at once", n, counts(calls), emu.PeakRunning())
	}
	emu.ResetPeak()
	f.run(t, func(o *ssm.Options) { o.MaxConcurrency = "10%" })
	if peak := emu.PeakRunning(); peak != 20 {
		t.Errorf("200 instances at max_concurrency 10%%: %d agents ran at once, want 20 (10%% of the fleet)", peak)
	}
}

// max_errors holds for the whole fleet: once more instances failed than
// it allows, no command is sent to the instances left. "0": one failure
// in the first 50 stops the other 150; "1%" (2 of 200): two failures in
// the first command leave the second command no error to spare, and one
// more there stops the last 100.
func TestFleetOf200HoldsMaxErrors(t *testing.T) {
	t.Parallel()
	f := newStubFleet(t, 200)
	emu := f.sb.Emulator
	check := func(res []transport.TargetResult, from int) {
		t.Helper()
		for i, r := range res {
			if i < from {
				continue
			}
			if r.Target != f.ids[i] || r.Result.Outcome != ssm.OutcomeNotRun || r.Result.ExitCode != 1 || !strings.Contains(r.Result.Error, "max_errors") {
				t.Fatalf("%s (instance %d): %s %q; want not run, for max_errors", r.Target, i, r.Result.Outcome, r.Result.Error)
			}
		}
		for _, c := range emu.Calls() {
			for _, id := range c.InstanceIDs {
				for _, left := range f.ids[from:] {
					if id == left && c.Operation == "SendCommand" {
						t.Fatalf("a command was sent to %s, after the fleet exceeded max_errors", id)
					}
				}
			}
		}
	}

	f.fail(f.ids[3])
	res := f.run(t, func(o *ssm.Options) { o.MaxErrors = "0" })
	if r := res[3].Result; r.Outcome != agent.OutcomeFailed {
		t.Errorf("the failing instance: %s %s", r.Outcome, r.Error)
	}
	check(res, 50)
	if n := emu.CallCount("SendCommand"); n != 1 {
		t.Errorf("%d SendCommand calls, want 1", n)
	}

	emu.ResetCalls()
	f.fail(f.ids[4], f.ids[60])
	res = f.run(t, func(o *ssm.Options) { o.MaxErrors = "1%" })
	for _, i := range []int{3, 4} {
		if r := res[i].Result; r.Outcome != agent.OutcomeFailed {
			t.Errorf("instance %d: %s %s", i, r.Outcome, r.Error)
		}
	}
	check(res, 100)
	c := awsssm.NewFromConfig(f.sb.AWSConfig())
	var sent []string
	for _, call := range emu.Calls() {
		if call.Operation == "SendCommand" && call.Error == "" {
			out, err := c.ListCommands(context.Background(), &awsssm.ListCommandsInput{CommandId: aws.String(call.CommandID)})
			if err != nil || len(out.Commands) != 1 {
				t.Fatalf("list command %s: %v", call.CommandID, err)
			}
			sent = append(sent, aws.ToString(out.Commands[0].MaxConcurrency)+"/"+aws.ToString(out.Commands[0].MaxErrors))
		}
	}
	if got := strings.Join(sent, " "); got != "10/2 10/0" {
		t.Errorf("commands sent with max concurrency/max errors %s, want 10/2 then 10/0 (what the first left of the fleet's 2)", got)
	}
}
