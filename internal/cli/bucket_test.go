package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/ssmemu"
)

// Through the sandbox, as on AWS: an ssm environment's records are one
// object each under <prefix>/records/<app>/<environment>/ in its bucket,
// with the AWS principal (STS GetCallerIdentity) as part of the actor;
// the commands' output is under the SOP's ssm-logs/<environment>/; a
// closed SSM Change Calendar refuses the deploy (GetCalendarState), which
// ferry windows shows and the record keeps; the job summary ends with the
// environment's metrics line; history and audit verify read the bucket.
func TestRecordsAndLogsInTheBucketThroughSandbox(t *testing.T) {
	slow(t)
	need(t, "git")
	need(t, "python3")
	base := t.TempDir()
	sb, err := sandbox.Start(sandbox.Options{Root: filepath.Join(base, "sb"), Instances: 1,
		Env: []string{"FERRY_AGENT_CACHE=" + filepath.Join(base, "agent-cache")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sb.StopApps()
		sb.Close()
	})
	if _, err := sb.GivePorts("ssmapp"); err != nil {
		t.Fatal(err)
	}
	useSandboxEnv(t, sb)
	f := &fixture{t: t, dir: filepath.Join(base, "repo")}
	os.MkdirAll(f.dir, 0o755)
	f.git("init", "-q", "-b", "main")
	f.write("app.py", ssmAppPy)
	f.write("requirements.txt", "# stdlib only\n")
	f.write("ferry.yml", sb.FerryYML("ssmapp", sandbox.Rollout{})+"    change_calendars: [ProductionCalendar]\n")
	sha := f.commit("first")
	summary := filepath.Join(base, "summary.md")
	env := map[string]string{"FERRY_AGENT_DIR": testAgents(t), "FERRY_INDEX": filepath.Join(base, "index.db"),
		"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_REF_NAME": "main", "GITHUB_STEP_SUMMARY": summary}

	// Closed now, open in an hour.
	now := time.Now()
	sb.Emulator.SetCalendar("ProductionCalendar", ssmemu.Calendar{Default: ssmemu.CalendarOpen, Events: []ssmemu.CalendarEvent{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}})
	r := ferryIn(t, f.dir, env, "windows", "sandbox")
	if r.code != 0 || !strings.Contains(r.out, "closed: change calendar ProductionCalendar is CLOSED until ") {
		t.Errorf("windows: %s", r)
	}
	r = ferryIn(t, f.dir, env, "deploy", "sandbox", "--skip-gates")
	if r.code != 6 || !strings.Contains(r.err, "change calendar ProductionCalendar is CLOSED until") || !strings.Contains(r.err, "::error title=ferry deploy sandbox%3A refused by freeze::") ||
		!strings.Contains(r.err, "hint: deploy in the next window (") {
		t.Fatalf("a closed calendar: %s", r)
	}
	if n := sb.Emulator.CallCount("SendCommand"); n != 0 {
		t.Errorf("%d commands sent for a refused deploy", n)
	}
	sb.Emulator.SetCalendarState("ProductionCalendar", ssmemu.CalendarOpen)
	if r := ferryIn(t, f.dir, env, "deploy", "sandbox", "--skip-gates"); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}

	// The bucket's layout.
	cfg := sb.AWSConfig()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	keys := map[string]bool{}
	var logs []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(sb.Bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			keys[k] = true
			if strings.HasPrefix(k, "ssm-logs/sandbox/") {
				logs = append(logs, k)
			}
		}
	}
	prefix := recordstore.S3Prefix("ferry", "ssmapp", "sandbox")
	for seq := int64(1); seq <= 4; seq++ {
		if !keys[prefix+recordstore.Name(seq)] {
			t.Errorf("no record %s in the bucket: %v", prefix+recordstore.Name(seq), keys)
		}
	}
	if !strings.HasPrefix(prefix, "ferry/records/ssmapp/sandbox/") {
		t.Errorf("records prefix %s", prefix)
	}
	wantLog := fmt.Sprintf("/%s/awsrunShellScript/0.awsrunShellScript/stdout", sb.Instances[0].ID)
	found := false
	for _, k := range logs {
		found = found || strings.HasSuffix(k, wantLog)
	}
	if !found {
		t.Errorf("no command output under ssm-logs/sandbox/: %v", logs)
	}
	for k := range keys {
		if strings.HasPrefix(k, "ferry/output/") {
			t.Errorf("output under the old layout: %s", k)
		}
	}

	// The records themselves, read back from the bucket.
	objs, err := recordstore.NewS3(c, sb.Bucket, prefix).List(context.Background(), 0)
	if err != nil || len(objs) != 4 {
		t.Fatalf("%d records: %v", len(objs), err)
	}
	refused, deployed := objs[1].Record, objs[3].Record
	if refused.Outcome != record.OutcomeRefused || refused.Refusal == nil || refused.Refusal.Policy != record.PolicyFreeze {
		t.Errorf("the refusal's record: %+v", refused)
	}
	if deployed.Outcome != record.OutcomeDeployed || deployed.Change.SHA != sha || deployed.Target.Kind != "ssm" || len(deployed.Target.Instances) != 1 ||
		deployed.Target.Instances[0].ID != sb.Instances[0].ID || deployed.Actor.Name != "octocat" || deployed.Actor.AWSPrincipal != sandbox.CallerARN {
		t.Errorf("the deploy's record: %+v", deployed)
	}
	b, _ := os.ReadFile(summary)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); !strings.HasPrefix(lines[len(lines)-1], "**sandbox, last 30 days:** 1 deployments") {
		t.Errorf("the job summary does not end with the metrics line:\n%s", b)
	}
	r = ferryIn(t, f.dir, env, "history", "sandbox", "--json")
	var h struct {
		Attempts []struct{ Outcome, Refusal, Location string } `json:"attempts"`
	}
	if err := json.Unmarshal(checkEnvelope(t, "history", r), &h); err != nil || len(h.Attempts) != 2 || h.Attempts[0].Outcome != "deployed" ||
		h.Attempts[1].Refusal != "freeze" || h.Attempts[0].Location != "s3://"+sb.Bucket+"/"+prefix {
		t.Errorf("history from the bucket: %v %s", err, r.out)
	}
	if r := ferryIn(t, f.dir, env, "audit", "verify", "sandbox"); r.code != 0 || !strings.Contains(r.out, "4 records, intact") {
		t.Errorf("audit verify: %s", r)
	}
}
