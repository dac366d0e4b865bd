package ssm_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// sealingAgent stands in for ferry-agent's side of a sealed spec: it
// decodes the spec, downloads its sealed part, checks its SHA-256, keeps
// it in $STUB_DIR/got.<instance>.json for the test to read, and answers.
const sealingAgent = `#!/usr/bin/env python3
import base64, hashlib, json, os, sys, urllib.request
op, spec = sys.argv[1], json.loads(base64.urlsafe_b64decode(sys.argv[sys.argv.index("--spec-b64") + 1] + "=="))
got = {"spec": spec}
if "sealed" in spec:
    body = urllib.request.urlopen(spec["sealed"]["url"]).read()
    if hashlib.sha256(body).hexdigest() != spec["sealed"]["sha256"]:
        print("sealed digest mismatch", file=sys.stderr)
        sys.exit(1)
    got["sealed"] = json.loads(body)
with open(os.path.join(os.environ["STUB_DIR"], "got." + os.environ["SSMEMU_INSTANCE_ID"] + ".json"), "w") as f:
    json.dump(got, f)
print(json.dumps({"event": "result", "result": {"op": op, "outcome": "deployed", "exit_code": 0, "duration_ms": 1}}, separators=(",", ":")))
`

// planted are the secrets the test deploys with: a variable's value, an
// index URL's token, a health URL's password. None may appear anywhere
// but the sealed object.
var planted = []string{"planted-var-s3cret-9f2c", "planted-pip-t0ken-77", "planted-health-pw-31"}

// base64ish finds what may be base64 or base64url text (a spec).
var base64ish = regexp.MustCompile(`[A-Za-z0-9_+/=-]{40,}`)

// leaks reports the planted secrets in text, as they are or inside any
// base64 or base64url run of it.
func leaks(text string) []string {
	var found []string
	look := func(s, where string) {
		for _, p := range planted {
			if strings.Contains(s, p) {
				found = append(found, p+" "+where)
			}
		}
	}
	look(text, "in clear")
	for _, run := range base64ish.FindAllString(text, -1) {
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
			if b, err := enc.DecodeString(strings.TrimRight(run, "=")); err == nil {
				look(string(b), "in base64")
			} else if b, err := enc.DecodeString(run); err == nil {
				look(string(b), "in base64")
			}
		}
	}
	return found
}

// Item 9 of the hardening issue, the transport's part: a deploy whose
// variables, index URL and health URL hold secrets puts none of them in
// SSM's parameters (read back through the emulator's ListCommands and
// through the AWS CLI's aws ssm list-commands), nor in any object of the
// bucket but the sealed one, which the agent gets, checked, and which is
// gone when the command has ended.
func TestNothingSecretInSSMParameters(t *testing.T) {
	t.Parallel()
	need(t, "python3")
	f := newStubFleet(t, 2)
	body := sealingAgent
	for _, arch := range []string{"amd64", "arm64"} {
		if err := os.WriteFile(filepath.Join(f.agents, agentbin.FileName(runtime.GOOS, arch)), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := f.opts
	o.Source, o.Repository = "git", "https://git.example.com/app.git"
	tr, err := ssm.New(o)
	if err != nil {
		t.Fatal(err)
	}
	spec := agent.Spec{Protocol: agent.Protocol, Op: agent.OpApply, Root: "~/app", App: "stub", Environment: "test", SHA: strings.Repeat("a", 40),
		Start: []string{"python", "app.py"}, Python: "python3", Requirements: "requirements.txt",
		Vars:   map[string]string{"PORT": "8080", "API_TOKEN": planted[0]},
		Health: agent.HealthSpec{URL: "http://probe:" + planted[2] + "@127.0.0.1:${PORT}/health", Status: 200, Deadline: time.Minute, Interval: time.Second}}
	spec.Pip.IndexURL = "https://deploy:" + planted[1] + "@pypi.example.com/simple"
	rec := &recorder{}
	res, err := tr.Run(testCtx(t), spec, rec.progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	for _, r := range res {
		if r.Result.ExitCode != 0 {
			t.Fatalf("%s: %+v\n%s", r.Target, r.Result, rec)
		}
	}

	// The agent got every value, through the sealed object alone.
	var sealedURL string
	for _, id := range f.ids {
		var got struct {
			Spec   map[string]any `json:"spec"`
			Sealed struct {
				Vars        map[string]string `json:"vars"`
				PipIndexURL string            `json:"pip_index_url"`
				HealthURL   string            `json:"health_url"`
			} `json:"sealed"`
		}
		b, err := os.ReadFile(filepath.Join(f.stub, "got."+id+".json"))
		if err != nil || json.Unmarshal(b, &got) != nil {
			t.Fatalf("%s: the agent kept nothing: %v", id, err)
		}
		if got.Sealed.Vars["API_TOKEN"] != planted[0] || got.Sealed.Vars["PORT"] != "8080" || got.Sealed.PipIndexURL != spec.Pip.IndexURL || got.Sealed.HealthURL != spec.Health.URL {
			t.Errorf("%s: the sealed part is not the spec's secrets: %+v", id, got.Sealed)
		}
		if l := leaks(string(mustJSON(t, got.Spec))); len(l) > 0 {
			t.Errorf("%s: the spec on the command line holds %v", id, l)
		}
		if h, _ := got.Spec["health"].(map[string]any); h["url"] != "http://127.0.0.1:${PORT}/health" {
			t.Errorf("%s: the spec's health URL %v, want it without its credentials", id, h["url"])
		}
		sealedURL = got.Spec["sealed"].(map[string]any)["url"].(string)
	}

	// SSM's parameters, as the SDK and the AWS CLI list them.
	cfg := f.sb.AWSConfig()
	cmds, err := awsssm.NewFromConfig(cfg).ListCommands(context.Background(), &awsssm.ListCommandsInput{})
	if err != nil || len(cmds.Commands) == 0 {
		t.Fatalf("list commands: %v", err)
	}
	if l := leaks(string(mustJSON(t, cmds.Commands))); len(l) > 0 {
		t.Errorf("ListCommands shows %v", l)
	}
	if !strings.Contains(string(mustJSON(t, cmds.Commands)), "--spec-b64") {
		t.Fatalf("the command's parameters are not what the test thinks:\n%s", mustJSON(t, cmds.Commands))
	}
	cli := awsCLIOutput(t, f.sb, "ssm", "list-commands")
	if !strings.Contains(cli, "--spec-b64") {
		t.Fatalf("aws ssm list-commands shows no command:\n%s", cli)
	}
	if l := leaks(cli); len(l) > 0 {
		t.Errorf("aws ssm list-commands shows %v", l)
	}

	// Every object left in the bucket; the sealed one is gone.
	store := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	objs, err := store.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(f.sb.Bucket)})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("list objects: %v", err)
	}
	for _, obj := range objs.Contents {
		key := aws.ToString(obj.Key)
		if strings.HasPrefix(key, "ferry/sealed/") {
			t.Errorf("the sealed object %s is still there after the command ended", key)
		}
		out, err := store.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(f.sb.Bucket), Key: obj.Key})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if l := leaks(string(b)); len(l) > 0 {
			t.Errorf("s3://%s/%s holds %v", f.sb.Bucket, key, l)
		}
	}
	if resp, err := http.Get(sealedURL); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("the sealed object's URL still serves it after the command ended: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	if l := leaks(rec.String()); len(l) > 0 {
		t.Errorf("the transport's progress shows %v", l)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// awsCLIOutput runs Debian's AWS CLI v2 against the sandbox alone:
// --endpoint-url (it ignores AWS_ENDPOINT_URL_*), dummy keys, no files.
func awsCLIOutput(t *testing.T, sb *sandbox.Sandbox, args ...string) string {
	t.Helper()
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		testtool.Missing(t, "AWS CLI v2 ("+cli+")", err)
	}
	cmd := exec.Command(cli, append([]string{"--endpoint-url", sb.SSMEndpoint, "--region", sb.Region, "--output", "json"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_ACCESS_KEY_ID=" + sandbox.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + sandbox.SecretAccessKey,
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The same through the real agent: a fleet deploys with the planted
// secrets, serves, and none of them is in SSM's parameters or the
// bucket.
func TestRealAgentGetsItsSecretsSealed(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 2, sandbox.Options{})
	sha := f.head()
	spec := f.spec(agent.OpApply, sha)
	spec.Vars = map[string]string{"API_TOKEN": planted[0]}
	spec.Health.URL = "http://probe:" + planted[2] + "@127.0.0.1:${PORT}/health"
	rec := &recorder{}
	res, err := f.run(testCtx(t), f.options(nil), spec, rec)
	if err != nil {
		t.Fatalf("%v\n%s", err, rec)
	}
	for _, r := range res {
		if r.Result.ExitCode != 0 || f.serving(r.Target) != sha {
			t.Fatalf("%s: %+v\n%s", r.Target, r.Result, rec)
		}
	}
	cmds, err := awsssm.NewFromConfig(f.sb.AWSConfig()).ListCommands(context.Background(), &awsssm.ListCommandsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if l := leaks(string(mustJSON(t, cmds.Commands)) + awsCLIOutput(t, f.sb, "ssm", "list-commands") + rec.String() + string(mustJSON(t, res))); len(l) > 0 {
		t.Errorf("the secrets are in SSM's parameters, the progress or the results: %v", l)
	}
	for _, k := range f.bucketKeys("") {
		if strings.HasPrefix(k, "ferry/sealed/") {
			t.Errorf("the sealed object %s is still there", k)
		}
	}
}
