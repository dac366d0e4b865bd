//go:build unix

package ssmemu_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

func readPID(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %v", file, err)
	}
	return pid
}

// alive says whether pid runs; a zombie (killed, not yet reaped by whoever
// inherited it) counts as dead.
func alive(t *testing.T, pid int) bool {
	t.Helper()
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func waitFile(t *testing.T, name string) {
	t.Helper()
	eventually(t, name, func() bool { b, _ := os.ReadFile(name); return len(b) > 0 && b[len(b)-1] == '\n' })
}

// executionTimeout kills the script's whole process group (a background child
// dies with it) while a child that called setsid survives, as on the agent.
// Time is scaled: executionTimeout "20" lasts one second here. The script's
// setup must be done before the timeout; on a loaded machine it may not be,
// and the test tries again with twice the timeout instead of failing.
func TestExecutionTimeoutKillsGroupSetsidSurvives(t *testing.T) {
	t.Parallel()
	for timeout := 20; ; timeout *= 2 {
		if executionTimeoutKills(t, timeout) {
			return
		}
		if timeout > 172800/2 {
			t.Fatal("the script never got through its setup within the execution timeout")
		}
		t.Logf("the setup did not finish within %ds (scaled); trying again with more", timeout)
	}
}

// executionTimeoutKills runs the check once and reports whether the
// script's setup finished in time for it to mean anything.
func executionTimeoutKills(t *testing.T, timeout int) bool {
	f := newFixture(t, fixtureOpts{opts: ssmemu.Options{TimeScale: 0.05}})
	id := f.ids[0]
	start := time.Now()
	cmdID := f.send(t, &ssm.SendCommandInput{
		InstanceIds: []string{id},
		Parameters: map[string][]string{"executionTimeout": {strconv.Itoa(timeout)}, "commands": {
			`sleep 60 & echo $! > "$SHARED/child.pid"`,
			`setsid sh -c 'echo $$ > "$SHARED/survivor.pid"; exec sleep 60' &`,
			"echo started",
			"sleep 60",
		}},
	})
	out := f.wait(t, cmdID, id)
	elapsed := time.Since(start)
	if aws.ToString(out.StandardOutputContent) != "started\n" {
		// Killed before its setup was done: the survivor, if it was
		// started, is ours to stop.
		if b, err := os.ReadFile(filepath.Join(f.shared, "survivor.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		return false
	}
	waitFile(t, filepath.Join(f.shared, "child.pid"))
	waitFile(t, filepath.Join(f.shared, "survivor.pid"))
	child, survivor := readPID(t, filepath.Join(f.shared, "child.pid")), readPID(t, filepath.Join(f.shared, "survivor.pid"))
	t.Cleanup(func() { syscall.Kill(survivor, syscall.SIGKILL) })
	if out.Status != types.CommandInvocationStatusTimedOut || aws.ToString(out.StatusDetails) != "ExecutionTimedOut" || out.ResponseCode != 137 {
		t.Fatalf("got %s/%s code %d, want TimedOut/ExecutionTimedOut 137", out.Status, aws.ToString(out.StatusDetails), out.ResponseCode)
	}
	// A lower bound only: a loaded machine makes everything later.
	if min := time.Duration(float64(timeout)*0.05*float64(time.Second)) * 9 / 10; elapsed < min {
		t.Errorf("timed out after %v, before the execution timeout (%v scaled)", elapsed, min)
	}
	eventually(t, "background child to die", func() bool { return !alive(t, child) })
	if !alive(t, survivor) {
		t.Errorf("the setsid child was killed; it must survive the timeout")
	}
	if st := f.command(t, cmdID); st.Status != "TimedOut" || st.Details != "ExecutionTimedOut" || st.Errors != 1 {
		t.Errorf("command: %+v", st)
	}
	return true
}

// CancelCommand kills a running script (Cancelling, then Cancelled with 137)
// and cancels an undelivered one at once (Cancelled, -1). Holding the
// instance offline while its script is killed makes Cancelling observable.
func TestCancel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 2, configure: func(i int, in *ssmemu.Instance) {
		if i == 1 {
			in.PingStatus = ssmemu.PingConnectionLost
		}
	}})
	running, offline := f.ids[0], f.ids[1]
	cmdID := f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script(
		`sleep 60 & echo $! > "$SHARED/child.pid"`, "sleep 60",
	)})
	waitFile(t, filepath.Join(f.shared, "child.pid"))
	child := readPID(t, filepath.Join(f.shared, "child.pid"))
	if err := f.emu.SetPingStatus(running, ssmemu.PingConnectionLost); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ssm.CancelCommand(ctx(t), &ssm.CancelCommandInput{CommandId: &cmdID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "process group killed", func() bool { return !alive(t, child) })
	get := func(id string) *ssm.GetCommandInvocationOutput {
		out, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &id})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := get(running); out.Status != types.CommandInvocationStatusCancelling {
		t.Errorf("running invocation after cancel: %s, want Cancelling until the agent reports", out.Status)
	}
	if out := get(offline); out.Status != types.CommandInvocationStatusCancelled || out.ResponseCode != -1 {
		t.Errorf("undelivered invocation: %s %d, want Cancelled -1", out.Status, out.ResponseCode)
	}
	if st := f.command(t, cmdID); st.Status != "Cancelling" {
		t.Errorf("command: %+v, want Cancelling", st)
	}
	if err := f.emu.SetPingStatus(running, ssmemu.PingOnline); err != nil {
		t.Fatal(err)
	}
	out := f.wait(t, cmdID, running)
	if out.Status != types.CommandInvocationStatusCancelled || out.ResponseCode != 137 {
		t.Errorf("cancelled: %s %d, want Cancelled 137", out.Status, out.ResponseCode)
	}
	if st := f.command(t, cmdID); st.Status != "Cancelled" || st.Details != "Cancelled" || st.Completed != 2 {
		t.Errorf("command: %+v", st)
	}
}

// Close must stop what is still running and leave no goroutine behind.
func TestCloseKillsRunningScripts(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	f.send(t, &ssm.SendCommandInput{InstanceIds: f.ids, Parameters: script(`echo $$ > "$SHARED/pid"`, "sleep 60")})
	pidFile := filepath.Join(f.shared, "pid")
	eventually(t, "pid file", func() bool { b, _ := os.ReadFile(pidFile); return len(b) > 0 })
	if err := f.emu.Close(); err != nil {
		t.Fatal(err)
	}
	if alive(t, readPID(t, pidFile)) {
		t.Errorf("script survived Close")
	}
	if _, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{}); errorCode(err) != "InternalServerError" {
		t.Errorf("after close: %v", err)
	}
}
