package ssmemu_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

// Server-side validation answers the __type the SDK surfaces as the error code.
func TestValidationErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{instances: 2, configure: func(i int, in *ssmemu.Instance) {
		if i == 1 {
			in.Platform, in.Dir = ssmemu.PlatformWindows, ""
		}
	}})
	linux, windows := f.ids[0], f.ids[1]
	done := f.send(t, &ssm.SendCommandInput{InstanceIds: []string{linux}, Parameters: script("true")})
	f.wait(t, done, linux)

	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf("i-%017x", i))
	}
	run := func(p map[string][]string, mod func(*ssm.SendCommandInput)) func() error {
		return func() error {
			in := &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{linux}, Parameters: p}
			if mod != nil {
				mod(in)
			}
			_, err := f.ssm.SendCommand(ctx(t), in)
			return err
		}
	}
	ok := script("true")
	unknownCmd := "00000000-0000-4000-8000-000000000000"
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"51 instance ids", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = many }), "ValidationException"},
		{"ids and targets", run(ok, func(in *ssm.SendCommandInput) {
			in.Targets = []types.Target{{Key: aws.String("tag:Role"), Values: []string{"web"}}}
		}), "ValidationException"},
		{"neither ids nor targets", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = nil }), "ValidationException"},
		{"badly formed id", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = []string{"web-1"} }), "ValidationException"},
		{"unknown id", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = []string{"i-0123456789abcdef0"} }), "InvalidInstanceId"},
		{"non-hex id", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = []string{"i-zzzzzzzz"} }), "InvalidInstanceId"},
		{"duplicate id", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = []string{linux, linux} }), "DuplicateInstanceId"},
		{"unknown document", run(ok, func(in *ssm.SendCommandInput) { in.DocumentName = aws.String("AWS-RunNothing") }), "InvalidDocument"},
		{"document version", run(ok, func(in *ssm.SendCommandInput) { in.DocumentVersion = aws.String("7") }), "InvalidDocumentVersion"},
		{"powershell on linux", run(ok, func(in *ssm.SendCommandInput) { in.DocumentName = aws.String("AWS-RunPowerShellScript") }), "UnsupportedPlatformType"},
		{"shell on windows", run(ok, func(in *ssm.SendCommandInput) { in.InstanceIds = []string{windows} }), "UnsupportedPlatformType"},
		{"missing commands", run(map[string][]string{"workingDirectory": {"/tmp"}}, nil), "InvalidParameters"},
		{"no parameters", run(nil, nil), "InvalidParameters"},
		{"unknown parameter", run(map[string][]string{"commands": {"true"}, "shell": {"bash"}}, nil), "InvalidParameters"},
		{"execution timeout 0", run(map[string][]string{"commands": {"true"}, "executionTimeout": {"0"}}, nil), "InvalidParameters"},
		{"timeout seconds 10", run(ok, func(in *ssm.SendCommandInput) { in.TimeoutSeconds = aws.Int32(10) }), "ValidationException"},
		{"max concurrency 0", run(ok, func(in *ssm.SendCommandInput) { in.MaxConcurrency = aws.String("0") }), "ValidationException"},
		{"max errors 101%", run(ok, func(in *ssm.SendCommandInput) { in.MaxErrors = aws.String("101%") }), "ValidationException"},
		{"comment too long", run(ok, func(in *ssm.SendCommandInput) { in.Comment = aws.String(strings.Repeat("c", 101)) }), "ValidationException"},
		{"get: unknown command", func() error {
			_, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &unknownCmd, InstanceId: &linux})
			return err
		}, "InvocationDoesNotExist"},
		{"get: not targeted", func() error {
			_, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &done, InstanceId: aws.String("i-0123456789abcdef0")})
			return err
		}, "InvocationDoesNotExist"},
		{"get: short command id", func() error {
			_, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: aws.String("abc"), InstanceId: &linux})
			return err
		}, "ValidationException"},
		{"get: plugin name", func() error {
			_, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &done, InstanceId: &linux, PluginName: aws.String("aws:runPowerShellScript")})
			return err
		}, "InvalidPluginName"},
		{"list commands: unknown command", func() error {
			_, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{CommandId: &unknownCmd})
			return err
		}, "InvalidCommandId"},
		{"list commands: max results 51", func() error {
			_, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{MaxResults: aws.Int32(51)})
			return err
		}, "ValidationException"},
		{"list commands: bad token", func() error {
			_, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{NextToken: aws.String("not-a-token")})
			return err
		}, "InvalidNextToken"},
		{"list invocations: ExecutionStage", func() error {
			_, err := f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{Filters: []types.CommandFilter{{Key: types.CommandFilterKeyExecutionStage, Value: aws.String("Executing")}}})
			return err
		}, "InvalidFilterKey"},
		{"list invocations: unknown filter key", func() error {
			_, err := f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{Filters: []types.CommandFilter{{Key: "Colour", Value: aws.String("blue")}}})
			return err
		}, "ValidationException"},
		{"cancel: unknown command", func() error {
			_, err := f.ssm.CancelCommand(ctx(t), &ssm.CancelCommandInput{CommandId: &unknownCmd})
			return err
		}, "InvalidCommandId"},
		{"describe: unknown filter key", func() error {
			_, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{{Key: aws.String("Colour"), Values: []string{"blue"}}}})
			return err
		}, "InvalidFilterKey"},
		{"describe: unknown legacy key", func() error {
			_, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: []types.InstanceInformationFilter{{Key: "Colour", ValueSet: []string{"blue"}}}})
			return err
		}, "ValidationException"},
		{"describe: ping status value", func() error {
			_, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Asleep"}}}})
			return err
		}, "InvalidInstanceInformationFilterValue"},
		{"describe: unknown instance", func() error {
			_, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{Filters: []types.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{"i-0123456789abcdef0"}}}})
			return err
		}, "InvalidInstanceId"},
		{"describe: both filter lists", func() error {
			_, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{
				Filters:                       []types.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}},
				InstanceInformationFilterList: []types.InstanceInformationFilter{{Key: types.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"Online"}}},
			})
			return err
		}, "ValidationException"},
		{"describe: max results 4", func() error {
			_, err := f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(4)})
			return err
		}, "ValidationException"},
		{"describe: token of another operation", func() error {
			if _, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{MaxResults: aws.Int32(1)}); err != nil {
				return err
			}
			f.send(t, &ssm.SendCommandInput{InstanceIds: []string{linux}, Parameters: script("true")})
			out, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{MaxResults: aws.Int32(1)})
			if err != nil || out.NextToken == nil {
				return fmt.Errorf("no token to replay: %v", err)
			}
			_, err = f.ssm.DescribeInstanceInformation(ctx(t), &ssm.DescribeInstanceInformationInput{NextToken: out.NextToken})
			return err
		}, "InvalidNextToken"},
	} {
		err := tc.call()
		if got := errorCode(err); got != tc.want {
			t.Errorf("%s: error code %q (%v), want %s", tc.name, got, err, tc.want)
		}
	}

	// The typed errors of the SDK are populated too.
	_, err := f.ssm.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{"i-0123456789abcdef0"}, Parameters: ok})
	var invalid *types.InvalidInstanceId
	if !errors.As(err, &invalid) {
		t.Errorf("SendCommand to an unknown instance: %T, want *types.InvalidInstanceId", err)
	}
	_, err = f.ssm.SendCommand(ctx(t), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: many, Parameters: ok})
	if err == nil || !strings.Contains(err.Error(), "Member must have length less than or equal to 50") {
		t.Errorf("51 ids: message %v", err)
	}
}
