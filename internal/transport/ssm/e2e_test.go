package ssm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/ssmemu"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// Five instances, one command: each instance deploys the commit from the
// S3 artifact with the agent fetched from S3, and serves it on its own
// port. A second deploy reuses the cached agent and the uploaded agent
// binary, and the same commit's artifact is not uploaded again.
func TestFleetOfFiveDeploys(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 5, sandbox.Options{})
	v1 := f.head()
	res := f.deploy(v1)
	if len(res) != 5 {
		t.Fatalf("%d results, want 5", len(res))
	}
	for _, r := range res {
		if r.Result.Outcome != agent.OutcomeDeployed || r.Result.SHA != v1 {
			t.Errorf("%s: %+v", r.Target, r.Result)
		}
		if got := f.serving(r.Target); got != v1 {
			t.Errorf("%s serves %q, want %s", r.Target, got, v1[:8])
		}
	}
	if n := sendCommands(f, false); n != 1 {
		t.Errorf("%d SendCommand calls, want exactly 1 for the fleet", n)
	}
	// Calls named the instances only through the one SendCommand: polls
	// are per command, not per instance.
	if n := f.sb.Emulator.CallCount("GetCommandInvocation"); n != 0 {
		t.Errorf("%d GetCommandInvocation calls: results should come from the listed outputs", n)
	}

	keys := f.bucketKeys("ferry/")
	agents, artifacts := 0, 0
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "ferry/agents/"):
			agents++
		case strings.HasPrefix(k, "ferry/artifacts/"):
			artifacts++
		}
	}
	if agents != 2 || artifacts != 1 {
		t.Errorf("bucket holds %d agents and %d artifacts, want 2 (linux amd64, arm64) and 1:\n%s", agents, artifacts, strings.Join(keys, "\n"))
	}

	// The same commit again: nothing new in the bucket but command output.
	f.deploy(v1)
	if n := len(f.bucketKeys("ferry/agents/")) + len(f.bucketKeys("ferry/artifacts/")); n != agents+artifacts {
		t.Errorf("a redeploy of the same commit uploaded again: %d objects, want %d", n, agents+artifacts)
	}
	v2 := f.commit("second")
	for _, r := range f.deploy(v2) {
		if got := f.serving(r.Target); got != v2 {
			t.Errorf("%s serves %q after the second deploy, want %s", r.Target, got, v2[:8])
		}
		if r.Result.Previous == "" {
			t.Errorf("%s: the second deploy names no previous release", r.Target)
		}
	}
	// One cached, verified agent per instance cache; downloaded once.
	cached, _ := filepath.Glob(filepath.Join(filepath.Dir(f.sb.Root), "agent-cache", "*", "ferry-agent"))
	if len(cached) != 1 {
		t.Errorf("agent cache holds %v, want one binary", cached)
	}
}

func (f *fleet) bucketKeys(prefix string) []string {
	cfg := f.sb.AWSConfig()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	out, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(f.sb.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		f.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// One instance of five fails (its env file makes the new commit crash
// there): it rolls itself back, SSM stops the rollout at max_errors, and
// the instances that had deployed are rolled back by ferry, so that the
// whole fleet serves the old commit again and every instance is reported.
func TestOneFailureRollsTheFleetBack(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 5, sandbox.Options{})
	v1 := f.head()
	f.deploy(v1)
	v2 := f.commit("second")
	bad := f.ids[2]
	f.setEnv(bad, "FAIL_SHA="+v2[:12]+"\n")

	rec := &recorder{}
	res, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.MaxConcurrency = "2"; o.MaxErrors = "0" }), f.spec(agent.OpApply, v2), rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	if len(res) != 5 {
		t.Fatalf("%d results, want one per instance:\n%+v", len(res), res)
	}
	got := byTarget(res)
	if r := got[bad]; r.Outcome != agent.OutcomeRolledBack || r.ExitCode != 3 || len(r.LogTail) == 0 {
		t.Errorf("the failing instance: %+v", r)
	}
	fleetRolledBack := 0
	for _, id := range f.ids {
		r := got[id]
		switch {
		case id == bad:
		case r.Outcome == agent.OutcomeRolledBack:
			fleetRolledBack++
			if !strings.Contains(r.Error, "fleet rollback") || !strings.Contains(r.Error, bad) {
				t.Errorf("%s: rolled back without saying why: %q", id, r.Error)
			}
		case r.Outcome == ssm.OutcomeNotRun:
			if !strings.Contains(r.Error, "max_errors") {
				t.Errorf("%s: not run without saying why: %q", id, r.Error)
			}
		default:
			t.Errorf("%s: outcome %s (%s), want rolled back or not run", id, r.Outcome, r.Error)
		}
		if v := f.serving(id); v != v1 {
			t.Errorf("%s serves %q, want the old commit %s: the fleet stayed mixed", id, v, v1[:8])
		}
	}
	if fleetRolledBack < 2 {
		t.Errorf("%d instances rolled back with the fleet, want at least the first two:\n%s", fleetRolledBack, rec)
	}
	if !strings.Contains(rec.String(), "fleet rollback") {
		t.Errorf("no fleet rollback progress:\n%s", rec)
	}
	// Deploy, then one rollback command per previous release.
	if n := sendCommands(f, true); n < 3 {
		t.Errorf("%d accepted SendCommand calls, want the two deploys and the rollback", n)
	}
}

// With 30% of all SSM calls throttled, the deploy still succeeds within
// the SDK's retries, and SSM accepted exactly one SendCommand.
func TestThrottlingNeverSendsTwice(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, sandbox.Options{Throttle: []ssmemu.ThrottleRule{
		{Fraction: 0.3, Seed: 7},
		{Operation: "SendCommand", Every: 1}, // the first attempt is always refused...
	}})
	// ...and then no more: a refused attempt proves the command does not exist.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for f.sb.Emulator.CallCount("SendCommand") == 0 {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		f.sb.Emulator.SetThrottle(ssmemu.ThrottleRule{Fraction: 0.3, Seed: 11})
	}()
	rec := &recorder{}
	sha := f.head()
	res, err := f.run(testCtx(t), f.options(nil), f.spec(agent.OpApply, sha), rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	for _, r := range res {
		if r.Result.ExitCode != 0 {
			t.Errorf("%s: %s %s", r.Target, r.Result.Outcome, r.Result.Error)
		}
	}
	throttled := 0
	for _, c := range f.sb.Emulator.Calls() {
		if c.Error == "ThrottlingException" {
			throttled++
		}
	}
	if throttled < 3 {
		t.Errorf("only %d calls were throttled: the test did not exercise throttling", throttled)
	}
	if all, ok := sendCommands(f, false), sendCommands(f, true); all < 2 || ok != 1 {
		t.Errorf("SendCommand: %d attempts, %d accepted; want at least one throttled attempt and exactly one accepted", all, ok)
	}
}

// Preflight refuses a fleet with an instance that is offline, inactive or
// unknown, names each and why, and sends nothing.
func TestPreflightRefusesUnavailableInstances(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, sandbox.Options{})
	f.sb.Emulator.SetPingStatus(f.ids[1], ssmemu.PingConnectionLost)
	f.sb.Emulator.SetPingStatus(f.ids[2], ssmemu.PingInactive)
	ghost := "i-0123456789abcdef0"
	_, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.InstanceIDs = append(o.InstanceIDs, ghost) }), f.spec(agent.OpApply, f.head()), nil)
	if len(fail.Hints(err)) == 0 {
		t.Fatalf("want a preflight error with a hint, got %v", err)
	}
	for _, want := range []string{f.ids[1] + ": ConnectionLost", f.ids[2] + ": Inactive", ghost + ": not a managed node", "nothing was sent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), f.ids[0]) {
		t.Errorf("the error names the healthy instance:\n%v", err)
	}
	if n := sendCommands(f, false); n != 0 {
		t.Errorf("%d SendCommand calls after a failed preflight", n)
	}
	if keys := f.bucketKeys("ferry/"); len(keys) != 0 {
		t.Errorf("uploads after a failed preflight: %v", keys)
	}
}

// An instance that goes away mid-deploy (its SSM Agent deregistered
// while the first instance deploys) is reported undeliverable, and the
// instance that deployed is rolled back with the fleet.
func TestInstanceLostMidDeploy(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, sandbox.Options{})
	v1 := f.head()
	f.deploy(v1)
	v2 := f.commit("second")
	first, second := f.ids[0], f.ids[1]
	f.setEnv(first, "START_DELAY=2\n") // long enough for a poll to see it running
	var once sync.Once
	rec := &recorder{}
	rec.on = func(target string, ev agent.Event) {
		if target == first && strings.Contains(ev.Msg, "running") {
			once.Do(func() { f.sb.Emulator.SetPingStatus(second, ssmemu.PingInactive) })
		}
	}
	res, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.MaxConcurrency = "1"; o.MaxErrors = "1" }), f.spec(agent.OpApply, v2), rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	got := byTarget(res)
	if r := got[second]; r.Outcome != ssm.OutcomeNotRun || !strings.Contains(r.Error, "Undeliverable") {
		t.Errorf("the lost instance: %+v\n%s", r, rec)
	}
	if r := got[first]; r.Outcome != agent.OutcomeRolledBack {
		t.Errorf("the instance that deployed: %s %s, want rolled back with the fleet\n%s", r.Outcome, r.Error, rec)
	}
	if v := f.serving(first); v != v1 {
		t.Errorf("%s serves %q, want %s", first, v, v1[:8])
	}
}

// A result larger than SSM's 24,000 bytes of stdout (a crash with a long
// log tail) is read whole from the command's S3 output.
func TestTruncatedOutputIsReadFromS3(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 1, sandbox.Options{})
	id := f.ids[0]
	sha := f.head()
	f.setEnv(id, "FAIL_SHA="+sha[:12]+"\nFAIL_LINES=80\nFAIL_WIDTH=1000\n")
	res, err := f.run(testCtx(t), f.options(nil), f.spec(agent.OpApply, sha), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0].Result
	if r.Outcome != agent.OutcomeFailed || len(r.LogTail) != 50 {
		t.Fatalf("want the first deploy failed with a 50-line log tail, got %s with %d lines: %s", r.Outcome, len(r.LogTail), r.Error)
	}
	if last := r.LogTail[49]; !strings.HasPrefix(last, "boom 79 ") || len(last) < 1000 {
		t.Errorf("the log tail was cut: last line %.40q (%d bytes)", last, len(last))
	}
	// Proof that SSM itself had cut it: the stdout it keeps is 24,000 bytes.
	calls := f.sb.Emulator.Calls()
	cmdID := ""
	for _, c := range calls {
		if c.Operation == "SendCommand" {
			cmdID = c.CommandID
		}
	}
	keys := f.bucketKeys("ferry/output/" + cmdID + "/")
	var stdoutKey string
	for _, k := range keys {
		if strings.HasSuffix(k, "/stdout") {
			stdoutKey = k
		}
	}
	if stdoutKey == "" {
		t.Fatalf("no stdout in S3 output: %v", keys)
	}
	if n := f.objectSize(stdoutKey); n <= 24000 {
		t.Errorf("stdout is %d bytes: the test did not exceed SSM's limit", n)
	}
}

func (f *fleet) objectSize(key string) int64 {
	cfg := f.sb.AWSConfig()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	out, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(f.sb.Bucket), Key: aws.String(key)})
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToInt64(out.ContentLength)
}

// Ctrl-C (a cancelled context) cancels the command on SSM, and every
// instance is reported: killed mid-operation (unknown, exit 4) or
// cancelled before it started.
func TestCancelStopsTheCommand(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, sandbox.Options{Env: []string{"FERRY_AGENT_FAULT=hang:before:health"}})
	// Only this cancel ends the run: were it not heeded, Run would hang
	// and the test binary's timeout would fail the test. No clock decides.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	running := map[string]bool{}
	rec := &recorder{on: func(target string, ev agent.Event) {
		if strings.Contains(ev.Msg, "running") {
			mu.Lock()
			running[target] = true
			if len(running) == 2 {
				cancel()
			}
			mu.Unlock()
		}
	}}
	res, err := f.run(ctx, f.options(func(o *ssm.Options) { o.MaxConcurrency = "2" }), f.spec(agent.OpApply, f.head()), rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	if n := f.sb.Emulator.CallCount("CancelCommand"); n != 1 {
		t.Errorf("%d CancelCommand calls, want 1", n)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	killed, notStarted := 0, 0
	for _, r := range res {
		switch {
		case r.Result.Outcome == ssm.OutcomeUnknown && strings.Contains(r.Result.Error, "cancelled"):
			killed++
		case r.Result.Outcome == ssm.OutcomeCancelled && r.Result.ExitCode == 1:
			notStarted++
		default:
			t.Errorf("%s: %s %s", r.Target, r.Result.Outcome, r.Result.Error)
		}
	}
	if killed != 2 || notStarted != 1 {
		t.Errorf("%d killed and %d cancelled before starting, want 2 and 1\n%s", killed, notStarted, rec)
	}
}

// A run longer than the execution timeout is killed by SSM and reported.
func TestExecutionTimeoutIsReported(t *testing.T) {
	t.Parallel()
	// 1 minute scaled by 0.05: SSM kills the hanging agent after 3 seconds.
	f := newFleet(t, 1, sandbox.Options{TimeScale: 0.05, Env: []string{"FERRY_AGENT_FAULT=hang:before:health"}})
	res, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.ExecutionTimeout = time.Minute }), f.spec(agent.OpApply, f.head()), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res[0].Result
	if r.Outcome != ssm.OutcomeUnknown || r.ExitCode != 4 || !strings.Contains(r.Error, "execution timeout") {
		t.Errorf("got %s (exit %d): %s", r.Outcome, r.ExitCode, r.Error)
	}
}

// A bucket that does not exist stops the deploy before anything is sent,
// with advice.
func TestMissingBucket(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 1, sandbox.Options{})
	_, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.Bucket = "no-such-bucket" }), f.spec(agent.OpApply, f.head()), nil)
	if hint := strings.Join(fail.Hints(err), "\n"); !strings.Contains(err.Error(), "no-such-bucket does not exist") || !strings.Contains(hint, "aws s3 mb") {
		t.Fatalf("want a missing-bucket error with a hint, got %v", err)
	}
	if n := sendCommands(f, false); n != 0 {
		t.Errorf("%d SendCommand calls", n)
	}
}

// Without credentials the default loader fails before any call, with
// advice on how to configure them.
func TestNoCredentials(t *testing.T) {
	home := t.TempDir()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tr, err := ssm.New(ssm.Options{Region: "us-east-1", InstanceIDs: []string{"i-0123456789abcdef0"}, Bucket: "ferry-test", Agents: agentbin.InDir(agentDir)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Run(testCtx(t), agent.Spec{Protocol: agent.Protocol, Op: agent.OpStatus, Root: "/srv/app", App: "app"}, nil)
	if hint := strings.Join(fail.Hints(err), "\n"); !strings.Contains(hint, "AWS_PROFILE") || !strings.Contains(hint, "configure-aws-credentials") {
		t.Fatalf("want a credentials error with a hint, got %v", err)
	}
}

// Servers chosen by tag: preflight resolves the tag, and one command
// with Targets reaches them; read-only operations report each instance.
func TestTagsAndStatus(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 3, sandbox.Options{InstanceTags: map[string]string{"App": "billing"}})
	sha := f.head()
	f.deploy(sha)
	res, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.InstanceIDs = nil; o.Tags = map[string]string{"App": "billing"} }), f.spec(agent.OpStatus, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	for _, r := range res {
		s := r.Result.Status
		if r.Result.ExitCode != 0 || s == nil || s.Current == nil || s.Current.SHA != sha || !s.Healthy {
			t.Errorf("%s: %+v", r.Target, r.Result)
		}
	}
	byTag := 0
	for _, c := range f.sb.Emulator.Calls() {
		if c.Operation == "SendCommand" && c.Error == "" && len(c.InstanceIDs) == 0 {
			byTag++
		}
	}
	if byTag != 1 {
		t.Errorf("%d SendCommand calls by Targets, want the status one", byTag)
	}
	_, err = f.run(testCtx(t), f.options(func(o *ssm.Options) { o.InstanceIDs = nil; o.Tags = map[string]string{"App": "nothing"} }), f.spec(agent.OpStatus, ""), nil)
	if err == nil || !strings.Contains(err.Error(), "no managed instance has the tags App=nothing") {
		t.Errorf("an unmatched tag: %v", err)
	}
}

// A fleet mixing Linux and Windows needs one command per document, sent
// one after the other. The emulator delivers nothing to Windows
// instances: once its command is sent, the Windows instance is removed
// (as if terminated), and it is reported as not run. No timer decides.
func TestMixedFleetSendsOneCommandPerDocument(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 1, sandbox.Options{})
	win := "i-0aaaaaaaaaaaaaaa1"
	if err := f.sb.Emulator.AddInstance(ssmemu.Instance{ID: win, Platform: ssmemu.PlatformWindows}); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{on: func(_ string, ev agent.Event) {
		if strings.Contains(ev.Msg, "(AWS-RunPowerShellScript) to 1 instances") {
			f.sb.Emulator.RemoveInstance(win)
		}
	}}
	res, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.InstanceIDs = append(o.InstanceIDs, win) }), f.spec(agent.OpStatus, ""), rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	got := byTarget(res)
	if r := got[f.ids[0]]; r.ExitCode != 0 || r.Op != agent.OpStatus {
		t.Errorf("linux: %+v", r)
	}
	if r := got[win]; r.Outcome != ssm.OutcomeNotRun || !strings.Contains(r.Error, "could not deliver") {
		t.Errorf("windows: %+v", r)
	}
	if n := sendCommands(f, true); n != 2 {
		t.Errorf("%d commands, want 2 (one per document)", n)
	}
	for _, want := range []string{"(AWS-RunShellScript) to 1 instances", "(AWS-RunPowerShellScript) to 1 instances"} {
		if !strings.Contains(rec.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, rec)
		}
	}
	// Windows agents were uploaded for the Windows instance.
	if n := len(f.bucketKeys("ferry/agents/")); n != 4 {
		t.Errorf("%d agent binaries in the bucket, want 4", n)
	}
}

// source: git ships no artifact: the servers fetch the commit themselves.
// SSM's eventual consistency (a new command invisible for a while) is
// waited out.
func TestGitSourceAndInvisibleCommand(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 1, sandbox.Options{VisibilityDelay: 1500 * time.Millisecond})
	sha := f.head()
	res, err := f.run(testCtx(t), f.options(func(o *ssm.Options) { o.Source, o.Repository = "git", f.repo }), f.spec(agent.OpApply, sha), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0].Result; r.Outcome != agent.OutcomeDeployed || f.serving(f.ids[0]) != sha {
		t.Fatalf("%+v", r)
	}
	if keys := f.bucketKeys("ferry/artifacts/"); len(keys) != 0 {
		t.Errorf("source git uploaded artifacts: %v", keys)
	}
}
