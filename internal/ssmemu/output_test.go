package ssmemu_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Output past the limits is cut with the agent's markers (24,000 bytes of
// stdout, 8,000 of stderr, 2,500 of combined plugin output) while the
// complete streams land in S3 under the agent's key layout, readable with the
// s3 client.
func TestTruncationAndS3Output(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{withS3: true})
	id := f.ids[0]
	cmdID := f.send(t, &ssm.SendCommandInput{
		InstanceIds:        []string{id},
		OutputS3BucketName: aws.String(f.bucket),
		OutputS3KeyPrefix:  aws.String("deploys/prod"),
		Parameters: script(
			`head -c 30000 /dev/zero | tr '\0' a`,
			`head -c 9000 /dev/zero | tr '\0' e >&2`,
		),
	})
	out := f.wait(t, cmdID, id)
	if out.Status != types.CommandInvocationStatusSuccess {
		t.Fatalf("status %s", out.Status)
	}
	stdout, stderr := aws.ToString(out.StandardOutputContent), aws.ToString(out.StandardErrorContent)
	if len(stdout) != 24000 || stdout != strings.Repeat("a", 24000-20)+"--output truncated--" {
		t.Errorf("stdout: %d bytes ending %q", len(stdout), stdout[max(0, len(stdout)-30):])
	}
	if len(stderr) != 8000 || stderr != strings.Repeat("e", 8000-20)+"--output truncated--" {
		t.Errorf("stderr: %d bytes ending %q", len(stderr), stderr[max(0, len(stderr)-30):])
	}

	key := "deploys/prod/" + cmdID + "/" + id + "/awsrunShellScript/0.awsrunShellScript/"
	if got, want := aws.ToString(out.StandardOutputUrl), f.s3url+"/"+f.bucket+"/"+key+"stdout"; got != want {
		t.Errorf("StandardOutputUrl = %q, want %q", got, want)
	}
	if got, want := aws.ToString(out.StandardErrorUrl), f.s3url+"/"+f.bucket+"/"+key+"stderr"; got != want {
		t.Errorf("StandardErrorUrl = %q, want %q", got, want)
	}
	if full := f.getObject(t, key+"stdout"); full != strings.Repeat("a", 30000) {
		t.Errorf("S3 stdout has %d bytes, want the complete 30000", len(full))
	}
	if full := f.getObject(t, key+"stderr"); full != strings.Repeat("e", 9000) {
		t.Errorf("S3 stderr has %d bytes, want the complete 9000", len(full))
	}

	list, err := f.ssm.ListCommandInvocations(ctx(t), &ssm.ListCommandInvocationsInput{CommandId: &cmdID, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	inv := list.CommandInvocations[0]
	p := inv.CommandPlugins[0]
	output := aws.ToString(p.Output)
	if len(output) > 2500 || !strings.Contains(output, "\n---Output truncated---\n----------ERROR-------\n") || !strings.HasSuffix(output, "\n---Error truncated----") {
		t.Errorf("plugin output: %d bytes, %q...%q", len(output), output[:40], output[len(output)-60:])
	}
	if aws.ToString(p.OutputS3BucketName) != f.bucket || aws.ToString(p.OutputS3KeyPrefix) != "deploys/prod/"+cmdID+"/"+id+"/awsrunShellScript" {
		t.Errorf("plugin S3 location: %s %s", aws.ToString(p.OutputS3BucketName), aws.ToString(p.OutputS3KeyPrefix))
	}
	if aws.ToString(inv.StandardOutputUrl) != aws.ToString(out.StandardOutputUrl) {
		t.Errorf("invocation StandardOutputUrl %q", aws.ToString(inv.StandardOutputUrl))
	}

	// Like the agent, an empty stream is not uploaded, though its URL is reported.
	quiet := f.send(t, &ssm.SendCommandInput{InstanceIds: []string{id}, OutputS3BucketName: aws.String(f.bucket), Parameters: script("echo small")})
	qo := f.wait(t, quiet, id)
	qkey := quiet + "/" + id + "/awsrunShellScript/0.awsrunShellScript/"
	if aws.ToString(qo.StandardOutputContent) != "small\n" || f.getObject(t, qkey+"stdout") != "small\n" {
		t.Errorf("small output: %q", aws.ToString(qo.StandardOutputContent))
	}
	_, err = f.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &f.bucket, Key: aws.String(qkey + "stderr")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) || aws.ToString(qo.StandardErrorUrl) == "" {
		t.Errorf("empty stderr: GetObject err %v, url %q", err, aws.ToString(qo.StandardErrorUrl))
	}
}

func (f *fixture) getObject(t *testing.T, key string) string {
	t.Helper()
	obj, err := f.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &f.bucket, Key: &key})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", f.bucket, key, err)
	}
	defer obj.Body.Close()
	b, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
