package ssmemu_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// boto3's command_executed waiter works against the emulator, including its
// retry on InvocationDoesNotExist (provoked with a visibility delay) and its
// failure acceptor.
func TestBoto3Waiter(t *testing.T) {
	t.Parallel()
	py := pythonWith(t, "boto3")
	f := newFixture(t, fixtureOpts{opts: ssmemu.Options{VisibilityDelay: 300 * time.Millisecond}})
	id := f.ids[0]
	out := run(t, py, "testdata/boto3_waiter.py", f.srv.URL, id)
	var got struct {
		CommandId, Status, StatusDetails, StandardOutputContent, PluginName string
		ResponseCode                                                        int
		Failure                                                             *struct {
			Reason, Last string
			Code         int
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("script output: %v\n%s", err, out)
	}
	if got.Status != "Success" || got.StatusDetails != "Success" || got.ResponseCode != 0 ||
		got.StandardOutputContent != "hello from boto3\n"+id+"\n" || got.PluginName != "aws:runShellScript" {
		t.Errorf("invocation: %+v", got)
	}
	if got.Failure == nil || got.Failure.Last != "Failed" || got.Failure.Code != 7 || !strings.Contains(got.Failure.Reason, "terminal failure") {
		t.Errorf("failing command: %+v", got.Failure)
	}
	notYet := 0
	for _, c := range f.emu.Calls() {
		if c.Operation == "GetCommandInvocation" && c.Error == "InvocationDoesNotExist" {
			notYet++
		}
	}
	if notYet == 0 {
		t.Errorf("the waiter never met InvocationDoesNotExist; the visibility delay was not exercised")
	}
}
