// Package ssmemu emulates the Run Command part of AWS Systems Manager on
// loopback, so that ferry's ssm transport, its tests and the sandbox can be
// driven by real AWS clients (aws-sdk-go-v2, the AWS CLI, boto3) without an
// AWS account and without leaving 127.0.0.1.
//
// The emulator is an http.Handler speaking AWS JSON 1.1 for SendCommand,
// GetCommandInvocation, ListCommandInvocations, ListCommands, CancelCommand and
// DescribeInstanceInformation. Request and response shapes, enums and
// constraints follow botocore's service model (data/ssm/2014-11-06). Statuses,
// timeouts, truncation and the S3 output layout follow the AWS Systems Manager
// User Guide and the public amazon-ssm-agent source; where neither says, the
// choice is marked "inferred" next to the code that makes it.
//
// Instances are directories on this machine. AWS-RunShellScript really runs:
// the commands are joined with newlines and run by `sh -c` in a new process
// group, as the Linux agent does, so execution timeouts, cancellation and
// reboot requests (exit 194) behave like the real thing. Windows instances
// exist for preflight checks only: nothing is ever delivered to them.
package ssmemu
