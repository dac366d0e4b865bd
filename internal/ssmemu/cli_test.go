package ssmemu_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The AWS CLI v2 drives the emulator with the commands an operator types.
func TestAWSCLIv2(t *testing.T) {
	t.Parallel()
	cli := awsCLI(t)
	f := newFixture(t, fixtureOpts{})
	id := f.ids[0]
	common := []string{"--endpoint-url", f.srv.URL, "--region", region}

	table := string(run(t, cli, append([]string{"ssm", "describe-instance-information",
		"--filters", "Key=InstanceIds,Values=" + id,
		"--query", "InstanceInformationList[0].[InstanceId,PingStatus,PlatformType]",
		"--output", "table"}, common...)...))
	for _, want := range []string{"DescribeInstanceInformation", id, "Online", "Linux"} {
		if !strings.Contains(table, want) {
			t.Errorf("describe-instance-information table lacks %q:\n%s", want, table)
		}
	}

	var sent struct {
		Command struct {
			CommandId, Status, DocumentName string
			InstanceIds                     []string
			Parameters                      map[string][]string
		}
	}
	out := run(t, cli, append([]string{"ssm", "send-command", "--document-name", "AWS-RunShellScript",
		"--instance-ids", id, "--parameters", `commands=["echo hello"]`}, common...)...)
	if err := json.Unmarshal(out, &sent); err != nil {
		t.Fatalf("send-command output: %v\n%s", err, out)
	}
	c := sent.Command
	if len(c.CommandId) != 36 || c.Status != "Pending" || c.DocumentName != "AWS-RunShellScript" ||
		len(c.InstanceIds) != 1 || c.InstanceIds[0] != id || c.Parameters["commands"][0] != "echo hello" {
		t.Fatalf("send-command: %+v", c)
	}

	var inv struct {
		Status, StatusDetails, StandardOutputContent, PluginName string
		ResponseCode                                             int
	}
	deadline := giveUpAt(t)
	for {
		out := run(t, cli, append([]string{"ssm", "get-command-invocation", "--command-id", c.CommandId, "--instance-id", id}, common...)...)
		if err := json.Unmarshal(out, &inv); err != nil {
			t.Fatalf("get-command-invocation output: %v\n%s", err, out)
		}
		if terminal[inv.Status] || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if inv.Status != "Success" || inv.StatusDetails != "Success" || inv.ResponseCode != 0 ||
		inv.StandardOutputContent != "hello\n" || inv.PluginName != "aws:runShellScript" {
		t.Errorf("get-command-invocation: %+v", inv)
	}
}
