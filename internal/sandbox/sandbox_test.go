package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

func start(t *testing.T, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	sb, err := sandbox.Start(opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return sb
}

// testCtx ends only near the test binary's own deadline: a loaded machine
// is slow, not wrong.
func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithDeadline(context.Background(), giveUpAt(t))
	t.Cleanup(cancel)
	return c
}

// giveUpAt is shortly before the test binary's deadline (go test -timeout).
func giveUpAt(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d.Add(-30 * time.Second)
	}
	return time.Now().Add(24 * time.Hour)
}

func waitInvocation(t *testing.T, client *ssm.Client, cmdID, id string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	deadline := giveUpAt(t)
	for time.Now().Before(deadline) {
		out, err := client.GetCommandInvocation(testCtx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &id})
		if err == nil {
			switch out.Status {
			case types.CommandInvocationStatusSuccess, types.CommandInvocationStatusFailed,
				types.CommandInvocationStatusTimedOut, types.CommandInvocationStatusCancelled:
				return out
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("invocation %s on %s did not finish", cmdID, id)
	return nil
}

// A deploy-shaped round trip through the aws.Config helper: preflight,
// SendCommand with S3 output, the script's effect in the instance directory,
// and the full output read back from the bucket.
func TestAWSConfigReachesBothServers(t *testing.T) {
	t.Parallel()
	sb := start(t, sandbox.Options{Instances: 3, InstanceTags: map[string]string{"App": "demo"}})
	cfg := sb.AWSConfig()
	client, store := ssm.NewFromConfig(cfg), s3.NewFromConfig(cfg)

	info, err := client.DescribeInstanceInformation(testCtx(t), &ssm.DescribeInstanceInformationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.InstanceInformationList) != 3 {
		t.Fatalf("%d instances, want 3", len(info.InstanceInformationList))
	}
	for i, ii := range info.InstanceInformationList {
		if aws.ToString(ii.InstanceId) != sandbox.InstanceID(i) || ii.PingStatus != types.PingStatusOnline || ii.PlatformType != types.PlatformTypeLinux {
			t.Errorf("instance %d: %s %s %s", i, aws.ToString(ii.InstanceId), ii.PingStatus, ii.PlatformType)
		}
	}

	out, err := client.SendCommand(testCtx(t), &ssm.SendCommandInput{
		DocumentName:       aws.String("AWS-RunShellScript"),
		Targets:            []types.Target{{Key: aws.String("tag:App"), Values: []string{"demo"}}},
		OutputS3BucketName: aws.String(sb.Bucket),
		OutputS3KeyPrefix:  aws.String("logs"),
		Parameters:         map[string][]string{"commands": {"echo deployed > release.txt", "echo ok from $SSMEMU_INSTANCE_ID"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmdID := *out.Command.CommandId
	for _, in := range sb.Instances {
		inv := waitInvocation(t, client, cmdID, in.ID)
		if inv.Status != types.CommandInvocationStatusSuccess || aws.ToString(inv.StandardOutputContent) != "ok from "+in.ID+"\n" {
			t.Errorf("%s: %s %q", in.ID, inv.Status, aws.ToString(inv.StandardOutputContent))
		}
		if b, err := os.ReadFile(filepath.Join(in.Dir, "release.txt")); err != nil || string(b) != "deployed\n" {
			t.Errorf("%s: release.txt %q %v", in.ID, b, err)
		}
		key := "logs/" + cmdID + "/" + in.ID + "/awsrunShellScript/0.awsrunShellScript/stdout"
		if want := sb.S3Endpoint + "/" + sb.Bucket + "/" + key; aws.ToString(inv.StandardOutputUrl) != want {
			t.Errorf("url %q, want %q", aws.ToString(inv.StandardOutputUrl), want)
		}
		obj, err := store.GetObject(testCtx(t), &s3.GetObjectInput{Bucket: &sb.Bucket, Key: &key})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if string(body) != "ok from "+in.ID+"\n" {
			t.Errorf("s3 stdout %q", body)
		}
	}
	for _, u := range []string{sb.SSMEndpoint, sb.S3Endpoint} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("endpoint %s is not on loopback", u)
		}
	}
}

// Env alone (no code-level endpoint) points aws-sdk-go-v2's default loader at
// the sandbox. Not parallel: it sets the process environment.
func TestEnvConfiguresDefaultSDKLoader(t *testing.T) {
	sb := start(t, sandbox.Options{})
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_PROFILE", "")
	os.Unsetenv("AWS_PROFILE")
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != sb.Region {
		t.Errorf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(testCtx(t))
	if err != nil || creds.AccessKeyID != sandbox.AccessKeyID {
		t.Fatalf("credentials: %v %v", creds.AccessKeyID, err)
	}
	if _, err := ssm.NewFromConfig(cfg).ListCommands(testCtx(t), &ssm.ListCommandsInput{}); err != nil {
		t.Errorf("ssm via env: %v", err)
	}
	if _, err := s3.NewFromConfig(cfg).ListObjectsV2(testCtx(t), &s3.ListObjectsV2Input{Bucket: &sb.Bucket}); err != nil {
		t.Errorf("s3 via env: %v", err)
	}
	if n := sb.Emulator.CallCount("ListCommands"); n != 1 {
		t.Errorf("the emulator saw %d ListCommands calls, want 1", n)
	}
}

// boto3 configured by nothing but the sandbox environment reaches both servers.
func TestEnvConfiguresBoto3(t *testing.T) {
	t.Parallel()
	py, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		missingTool(t, "python3", err)
	}
	sb := start(t, sandbox.Options{})
	code := `
import json, boto3
ssm, s3 = boto3.client("ssm"), boto3.client("s3")
info = ssm.describe_instance_information()["InstanceInformationList"]
s3.put_object(Bucket="` + sb.Bucket + `", Key="probe.txt", Body=b"hi")
print(json.dumps({"ids": [i["InstanceId"] for i in info], "objects": [o["Key"] for o in s3.list_objects_v2(Bucket="` + sb.Bucket + `")["Contents"]]}))
`
	cmd := exec.Command(strings.TrimSpace(string(py)), "-c", code)
	cmd.Env = sb.Environ(append(os.Environ(), "HOME="+t.TempDir(), "AWS_PROFILE=someone-elses", "AWS_SESSION_TOKEN=leaked"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "No module named 'boto3'") {
			missingTool(t, "python3 module boto3", err)
		}
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var got struct{ IDs, Objects []string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.IDs) != 1 || got.IDs[0] != sandbox.InstanceID(0) || len(got.Objects) != 1 || got.Objects[0] != "probe.txt" {
		t.Errorf("boto3 saw %+v", got)
	}
}

func missingTool(t *testing.T, tool string, err error) { t.Helper(); testtool.Missing(t, tool, err) }

// startOnFreePorts starts a sandbox on two ports that were free a moment
// ago. Another process may take one in between: then it tries two others.
func startOnFreePorts(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, int, int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		opts.SSMPort, opts.S3Port = freePort(t), freePort(t)
		sb, err := sandbox.Start(opts)
		if err == nil {
			return sb, opts.SSMPort, opts.S3Port
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 20 {
			t.Fatal(err)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// servedBySandbox says whether the sandbox with instance id and bucket
// still answers at ssmURL or s3URL. Once the sandbox is closed another
// process may listen on its ports; what that one answers is not ours, so
// only an answer that names this sandbox's instance or bucket counts.
func servedBySandbox(c *http.Client, ssmURL, s3URL, id, bucket string) []string {
	var still []string
	req, _ := http.NewRequest(http.MethodPost, ssmURL, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonSSM.DescribeInstanceInformation")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+sandbox.AccessKeyID) // the emulator checks no signature
	if resp, err := c.Do(req); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), id) {
			still = append(still, "ssm")
		}
	}
	if resp, err := c.Get(s3URL + "/"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), bucket) {
			still = append(still, "s3")
		}
	}
	return still
}

// Chosen ports are honoured and released by Close; instance directories and
// client files land under Root. Nothing here races another process for a
// port: ports taken between choosing and listening are chosen again, and
// "closed" means the sandbox no longer answers there, whoever listens now.
func TestPortsRootAndClose(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	bucket := "ports-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	sb, ssmPort, s3Port := startOnFreePorts(t, sandbox.Options{Root: root, Instances: 2, Bucket: bucket})
	if sb.SSMEndpoint != "http://127.0.0.1:"+strconv.Itoa(ssmPort) || sb.S3Endpoint != "http://127.0.0.1:"+strconv.Itoa(s3Port) {
		t.Errorf("endpoints %s %s", sb.SSMEndpoint, sb.S3Endpoint)
	}
	for i, in := range sb.Instances {
		if in.Dir != filepath.Join(root, "instances", sandbox.InstanceID(i)) {
			t.Errorf("instance dir %s", in.Dir)
		}
	}
	cfg, _ := os.ReadFile(sb.ConfigFile)
	if !strings.Contains(string(cfg), "addressing_style = path") || !strings.Contains(string(cfg), "endpoint_url = "+sb.SSMEndpoint) {
		t.Errorf("config file:\n%s", cfg)
	}
	if still := servedBySandbox(http.DefaultClient, sb.SSMEndpoint, sb.S3Endpoint, sandbox.InstanceID(0), bucket); len(still) != 2 {
		t.Fatalf("the running sandbox answers on %v only", still)
	}
	if _, err := sandbox.Start(sandbox.Options{Root: t.TempDir(), SSMPort: ssmPort}); err == nil {
		t.Errorf("a second sandbox on a taken port started")
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	// A stranger now on the port that accepts and never answers is not the
	// sandbox either: that client gives up (it can only make the test pass).
	if still := servedBySandbox(&http.Client{Timeout: 5 * time.Second}, sb.SSMEndpoint, sb.S3Endpoint, sandbox.InstanceID(0), bucket); len(still) > 0 {
		t.Errorf("the sandbox still answers after Close: %v", still)
	}
	if _, err := sandbox.Start(sandbox.Options{}); err == nil {
		t.Errorf("Start without Root succeeded")
	}
}
