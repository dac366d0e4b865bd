package ssmemu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/ferryhq/ferry/internal/ssmemu"
)

const region = "us-east-1"

func TestMain(m *testing.M) {
	// Nothing in these tests may find real credentials or talk to IMDS.
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_S3", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Unsetenv(k)
	}
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Exit(m.Run())
}

// instanceID makes the n-th test instance ID (17 hex digits).
func instanceID(n int) string { return fmt.Sprintf("i-0%016x", 0xfe00+n) }

type fixture struct {
	emu       *ssmemu.Emulator
	srv       *httptest.Server
	ssm       *ssm.Client
	ids       []string
	dirs      []string
	shared    string
	s3url     string
	s3        *s3.Client
	bucket    string
	transport *recorder
}

type fixtureOpts struct {
	instances int
	opts      ssmemu.Options
	withS3    bool
	configure func(i int, in *ssmemu.Instance)
}

func newFixture(t *testing.T, fo fixtureOpts) *fixture {
	t.Helper()
	f := &fixture{shared: t.TempDir(), bucket: "ferry-out"}
	if fo.instances == 0 {
		fo.instances = 1
	}
	opts := fo.opts
	opts.Env = append(opts.Env, "SHARED="+f.shared)
	for i := range fo.instances {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("host%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		in := ssmemu.Instance{ID: instanceID(i), Dir: dir}
		if fo.configure != nil {
			fo.configure(i, &in)
		}
		opts.Instances = append(opts.Instances, in)
		f.ids = append(f.ids, in.ID)
		f.dirs = append(f.dirs, dir)
	}
	if fo.withS3 {
		backend := s3mem.New()
		if err := backend.CreateBucket(context.Background(), f.bucket); err != nil {
			t.Fatal(err)
		}
		s3srv := httptest.NewServer(gofakes3.New(backend).Server())
		t.Cleanup(s3srv.Close)
		f.s3url = s3srv.URL
		opts.S3Endpoint = s3srv.URL
		f.s3 = s3.New(s3.Options{
			Region: region, BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		})
	}
	emu, err := ssmemu.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.emu = emu
	f.srv = httptest.NewServer(emu)
	t.Cleanup(func() {
		f.srv.Close()
		if err := emu.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	f.transport = &recorder{next: http.DefaultTransport}
	f.ssm = newSSMClient(f.srv.URL, f.transport)
	return f
}

var httpTransport http.Transport

func newSSMClient(endpoint string, rt http.RoundTripper) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: rt},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = 20 * time.Millisecond
		}),
	})
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// ctx is a call's context. It ends only near the test binary's own
// deadline (go test -timeout): a loaded machine is slow, not wrong, and a
// call that hangs still fails with a message before the binary is killed.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithDeadline(context.Background(), giveUpAt(t))
	t.Cleanup(cancel)
	return c
}

// giveUpAt is when a wait gives up: shortly before the test binary's
// deadline, so that no wait has a deadline of its own that a loaded
// scheduler could miss.
func giveUpAt(t *testing.T) time.Time {
	if d, ok := t.Deadline(); ok {
		return d.Add(-30 * time.Second)
	}
	return time.Now().Add(24 * time.Hour)
}

func (f *fixture) send(t *testing.T, in *ssm.SendCommandInput) string {
	t.Helper()
	if in.DocumentName == nil {
		in.DocumentName = aws.String("AWS-RunShellScript")
	}
	out, err := f.ssm.SendCommand(ctx(t), in)
	if err != nil {
		t.Fatalf("send command: %v", err)
	}
	return *out.Command.CommandId
}

func script(lines ...string) map[string][]string {
	return map[string][]string{"commands": lines}
}

var terminal = map[string]bool{"Success": true, "Failed": true, "TimedOut": true, "Cancelled": true}

// wait polls GetCommandInvocation as ferry does, treating InvocationDoesNotExist as "not yet".
func (f *fixture) wait(t *testing.T, cmdID, instID string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	deadline := giveUpAt(t)
	for time.Now().Before(deadline) {
		out, err := f.ssm.GetCommandInvocation(ctx(t), &ssm.GetCommandInvocationInput{CommandId: &cmdID, InstanceId: &instID})
		if err != nil && errorCode(err) != "InvocationDoesNotExist" {
			t.Fatalf("get command invocation: %v", err)
		}
		if err == nil && terminal[string(out.Status)] {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("invocation %s/%s did not finish", cmdID, instID)
	return nil
}

func (f *fixture) command(t *testing.T, cmdID string) ssmCommand {
	t.Helper()
	out, err := f.ssm.ListCommands(ctx(t), &ssm.ListCommandsInput{CommandId: &cmdID})
	if err != nil {
		t.Fatalf("list commands: %v", err)
	}
	if len(out.Commands) != 1 {
		t.Fatalf("list commands: %d commands", len(out.Commands))
	}
	c := out.Commands[0]
	return ssmCommand{Status: string(c.Status), Details: aws.ToString(c.StatusDetails), Target: c.TargetCount,
		Completed: c.CompletedCount, Errors: c.ErrorCount, DeliveryTimedOut: c.DeliveryTimedOutCount}
}

type ssmCommand struct {
	Status, Details                             string
	Target, Completed, Errors, DeliveryTimedOut int32
}

// eventually retries cond until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := giveUpAt(t)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(15 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// recorder keeps the raw body of the last response to each operation, for
// wire-shape comparisons.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last map[string][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || r.last == nil {
		return resp, err
	}
	body, rerr := readAllAndRestore(resp)
	if rerr != nil {
		return nil, rerr
	}
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonSSM.")
	r.last[op] = body
	return resp, nil
}
