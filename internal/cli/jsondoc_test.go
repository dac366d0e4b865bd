package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
	"github.com/ferryhq/ferry/internal/testing/jsondoc"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

var (
	docOnce sync.Once
	doc     *jsondoc.Doc
	docErr  error
)

// checkEnvelope checks that r's stdout is one envelope of command as
// docs/json.md documents it, and returns its result.
func checkEnvelope(t *testing.T, command string, r run) json.RawMessage {
	t.Helper()
	docOnce.Do(func() { doc, docErr = jsondoc.Load(filepath.Join("..", "..", "docs", "json.md")) })
	if docErr != nil {
		t.Fatalf("docs/json.md: %v", docErr)
	}
	env, err := doc.CheckEnvelope(command, []byte(r.out), r.code)
	if err != nil {
		t.Fatalf("the --json output of %s does not match docs/json.md:\n%v\n%s", command, err, r)
	}
	return env.Result
}

// Every command with --json, succeeding and failing, prints one envelope
// that docs/json.md documents (ferry demo's success is TestDemo's, which
// deploys for real).
func TestJSONEnvelopeOfEveryCommand(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, fakeConfig)
	refusing, _ := fakeProject(t, strings.Replace(fakeConfig, "required: [PORT]", "required: [PORT, DATABASE_URL]", 1))
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "ferry.yml"), []byte("app: x\nkeep_release: 3\nhealth: {status: two}\nenvironments:\n  l: {}\n"), 0o644)
	ssmDir, _ := fakeProject(t, fakeConfig+`  prod:
    target: ssm
    root: 'C:\Apps\testapp'
    ssm:
      region: eu-west-1
      bucket: testapp-deploy
      tags: {Role: testapp}
`)
	lintDir := t.TempDir()
	// A wheelhouse from a local index standing in for PyPI.
	whIndex, whDir := t.TempDir(), t.TempDir()
	if _, err := (testwheel.Wheel{Name: "greet", Version: "1.0.0"}).Write(whIndex); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(whDir, "ferry.yml"), []byte("app: a\nenvironments: {local: {}}\n"), 0o644)
	os.WriteFile(filepath.Join(whDir, "requirements.txt"), []byte("greet==1.0.0\n"), 0o644)
	os.WriteFile(filepath.Join(lintDir, "ok.yml"), []byte("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hello\n"), 0o644)
	bucketMissing := &faketransport.Transport{Err: fail.New(exitcode.Failed, errors.New("bucket missing-bucket does not exist"), "create it")}
	cases := []struct {
		name, command string
		dir           string
		tr            *faketransport.Transport
		args          []string
		code          int
	}{
		{"deploy", "deploy", dir, answering(agent.OutcomeDeployed), []string{"deploy"}, 0},
		{"deploy rolled back", "deploy", dir, answering(agent.OutcomeRolledBack, "i-0a", "i-0b"), []string{"deploy"}, 3},
		{"deploy refused", "deploy", refusing, nil, []string{"deploy", "test"}, 6},
		{"deploy not sent", "deploy", dir, bucketMissing, []string{"deploy", "--skip-gates"}, 1},
		{"deploy unknown flag", "deploy", dir, nil, []string{"deploy", "--bogus"}, 2},
		{"rollback", "rollback", dir, answering(agent.OutcomeDeployed), []string{"rollback", "test"}, 0},
		{"rollback locked", "rollback", dir, answering(agent.OutcomeLocked), []string{"rollback", "test"}, 5},
		{"rollback without env", "rollback", dir, nil, []string{"rollback"}, 2},
		{"status", "status", dir, answering(agent.OutcomeOK, "i-0a", "i-0b"), []string{"status", "test"}, 0},
		{"status bad config", "status", bad, nil, []string{"status", "l"}, 2},
		{"releases", "releases", dir, answering(agent.OutcomeOK), []string{"releases", "test"}, 0},
		{"releases agent refused", "releases", dir, answering(agent.OutcomeInvalid), []string{"releases", "test"}, 2},
		{"unlock", "unlock", dir, answering(agent.OutcomeOK), []string{"unlock", "test"}, 0},
		{"unlock too many args", "unlock", dir, nil, []string{"unlock", "test", "prod"}, 2},
		{"repair", "repair", dir, answering(agent.OutcomeOK, "i-0a", "i-0b"), []string{"repair", "test"}, 0},
		{"repair locked", "repair", dir, answering(agent.OutcomeLocked), []string{"repair", "test"}, 5},
		{"repair without env", "repair", dir, nil, []string{"repair"}, 2},
		{"validate", "validate", dir, nil, []string{"validate"}, 0},
		{"validate bad config", "validate", bad, nil, []string{"validate"}, 2},
		{"schema", "schema", dir, nil, []string{"schema"}, 0},
		{"schema extra arg", "schema", dir, nil, []string{"schema", "x"}, 2},
		{"check", "check", dir, nil, []string{"check"}, 0},
		{"check failing gate", "check", refusing, nil, []string{"check"}, 6},
		{"sandbox bad flag", "sandbox", dir, nil, []string{"sandbox", "--instances", "0"}, 2},
		{"history", "history", dir, nil, []string{"history"}, 0},
		{"history bad outcome", "history", dir, nil, []string{"history", "--outcome", "broken"}, 2},
		{"metrics", "metrics", dir, nil, []string{"metrics", "test"}, 0},
		{"metrics unknown environment", "metrics", dir, nil, []string{"metrics", "prod"}, 2},
		{"audit verify", "audit verify", dir, nil, []string{"audit", "verify"}, 0},
		{"audit verify unknown environment", "audit verify", dir, nil, []string{"audit", "verify", "prod"}, 2},
		{"audit without a subcommand", "audit", dir, nil, []string{"audit"}, 2},
		{"dashboard elsewhere than loopback", "dashboard", dir, nil, []string{"dashboard", "--addr", "0.0.0.0:0"}, 2},
		{"report", "report", dir, answering(agent.OutcomeOK), []string{"report", "--html", "report.html"}, 0},
		{"report without a file", "report", dir, nil, []string{"report"}, 2},
		{"windows", "windows", dir, nil, []string{"windows", "test"}, 0},
		{"windows unknown environment", "windows", dir, nil, []string{"windows", "prod"}, 2},
		{"demo with an argument", "demo", dir, nil, []string{"demo", "again"}, 2},
		{"init", "init", dir, nil, []string{"init", "--dry-run"}, 0},
		{"init drifted", "init", dir, nil, []string{"init", "--check"}, 1},
		{"lint", "lint", lintDir, nil, []string{"lint", "ok.yml"}, 0},
		{"lint nothing to lint", "lint", lintDir, nil, []string{"lint", "missing"}, 2},
		{"iam", "iam", ssmDir, answering(agent.OutcomeOK), []string{"iam", "prod", "--account", "123456789012", "--repo", "acme/testapp"}, 0},
		{"iam of a local environment", "iam", ssmDir, answering(agent.OutcomeOK), []string{"iam", "test", "--account", "123456789012", "--repo", "acme/testapp"}, 2},
		{"doctor", "doctor", dir, answering(agent.OutcomeOK), []string{"doctor", "test"}, 0},
		{"doctor without env", "doctor", dir, nil, []string{"doctor"}, 2},
		{"exec", "exec", dir, answeringExec(0), []string{"exec", "--json", "test", "--", "flask", "routes"}, 0},
		{"exec exits non-zero", "exec", dir, answeringExec(3), []string{"exec", "--json", "test", "--", "false"}, 3},
		{"exec without command", "exec", dir, nil, []string{"exec", "test"}, 2},
		{"wheelhouse", "wheelhouse", whDir, nil, []string{"wheelhouse", "--no-index", "--find-links", whIndex}, 0},
		{"wheelhouse without --platform", "wheelhouse", whDir, nil, []string{"wheelhouse", "--python-version", "3.11"}, 2},
		{"version", "version", dir, nil, []string{"version"}, 0},
		{"version with an argument", "version", dir, nil, []string{"version", "now"}, 2},
		{"unknown command", "ferry", dir, nil, []string{"deplyo"}, 2},
		{"no command", "ferry", dir, nil, nil, 2},
		{"help is text", "help", dir, nil, []string{"help"}, 2},
		{"help of a command is text", "help", dir, nil, []string{"help", "deploy"}, 2},
		{"completion is text", "completion", dir, nil, []string{"completion"}, 2},
		{"a completion script is text", "completion bash", dir, nil, []string{"completion", "bash"}, 2},
	}
	// Every command has a case that succeeds and one that fails (ferry
	// demo's success is TestDemo's, ferry sandbox's TestSandboxJSON's,
	// ferry dashboard's TestDashboardInChromium's; help and completion
	// only refuse).
	succeeds, failsToo := map[string]bool{"demo": true, "sandbox": true, "dashboard": true, "help": true, "completion": true}, map[string]bool{}
	for _, c := range cases {
		name, _, _ := strings.Cut(c.command, " ")
		if c.code == 0 {
			succeeds[name] = true
		} else {
			failsToo[name] = true
		}
	}
	for _, cmd := range cli.NewCmdRoot(cli.NewFactory(cli.IO{Getenv: func(string) string { return "" }})).Commands() {
		if !succeeds[cmd.Name()] || !failsToo[cmd.Name()] {
			t.Errorf("ferry %s has no --json case that succeeds and one that fails: add them here", cmd.Name())
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var edit func(*cli.Factory)
			if c.tr != nil {
				edit = withFake(c.tr)
			}
			r := ferryWith(t, c.dir, nil, edit, append(c.args, "--json")...)
			if r.code != c.code {
				t.Fatalf("want exit %d: %s", c.code, r)
			}
			res := checkEnvelope(t, c.command, r)
			if c.code != 0 && !strings.Contains(r.err, "error:") && !strings.Contains(c.name, "rolled back") && !strings.Contains(c.name, "non-zero") && !strings.Contains(c.name, "failing") && !strings.Contains(c.name, "locked") {
				t.Errorf("a failure says nothing on stderr: %s", r)
			}
			if c.code == 0 && string(res) == "null" {
				t.Errorf("a success without a result: %s", r.out)
			}
		})
	}
}

// Several problems in ferry.yml are several problems in the envelope,
// each at its line with its hints.
func TestJSONErrorCarriesEveryProblem(t *testing.T) {
	t.Parallel()
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "ferry.yml"), []byte("app: x\nkeep_release: 3\nhealth: {status: two}\nenvironments:\n  l: {}\n"), 0o644)
	r := ferryIn(t, bad, nil, "validate", "--json")
	checkEnvelope(t, "validate", r)
	var env struct {
		Error fail.JSON `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.out), &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Error.Problems) != 2 || !strings.HasPrefix(env.Error.Problems[0].Message, `ferry.yml:2:1: unknown key "keep_release"`) ||
		len(env.Error.Problems[0].Hints) == 0 || !strings.HasPrefix(env.Error.Problems[1].Message, "ferry.yml:3:18:") {
		t.Errorf("problems: %+v", env.Error.Problems)
	}
}

// The durations of status and unlock (a release's health deadline, a
// lock's TTL) are milliseconds, not the agent's nanoseconds.
func TestJSONDurationsAreMilliseconds(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, fakeConfig)
	r := ferryWith(t, dir, nil, withFake(answering(agent.OutcomeOK)), "status", "test", "--json")
	checkEnvelope(t, "status", r)
	for _, want := range []string{`"deadline_ms": 60000`, `"interval_ms": 1000`, `"stop_timeout_ms": 10000`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status lacks %s:\n%s", want, r.out)
		}
	}
	r = ferryWith(t, dir, nil, withFake(answering(agent.OutcomeOK)), "unlock", "test", "--json")
	checkEnvelope(t, "unlock", r)
	if !strings.Contains(r.out, `"ttl_ms": 7200000`) || strings.Contains(r.out, `"ttl"`) {
		t.Errorf("unlock's TTL:\n%s", r.out)
	}
}

// notifyWriter closes ready on its first write: ferry sandbox writes its
// envelope in one call.
type notifyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	ready chan struct{}
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.once.Do(func() { close(w.ready) })
	return w.buf.Write(p)
}

// ferry sandbox --json prints its envelope once it serves, then runs
// until interrupted, and exits 0 with nothing more on stdout.
func TestSandboxJSON(t *testing.T) {
	t.Parallel()
	out := &notifyWriter{ready: make(chan struct{})}
	var errb bytes.Buffer
	f := cli.NewFactory(cli.IO{In: strings.NewReader(""), Out: out, Err: &syncWriter{w: &errb}, Getenv: func(string) string { return "" }})
	f.WorkDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- cli.Run(ctx, []string{"sandbox", "--instances", "2", "--dir", "sb", "--json"}, f) }()
	select {
	case <-out.ready:
	case c := <-code:
		t.Fatalf("sandbox exited %d before printing:\n%s", c, errb.String())
	}
	cancel()
	r := run{code: <-code, out: out.buf.String(), err: errb.String()}
	res := checkEnvelope(t, "sandbox", r)
	var sb struct {
		Root      string                `json:"root"`
		Instances []struct{ ID string } `json:"instances"`
	}
	if err := json.Unmarshal(res, &sb); err != nil || len(sb.Instances) != 2 || sb.Root != filepath.Join(f.WorkDir, "sb") {
		t.Errorf("sandbox result (the relative --dir is the working directory's): %v %s", err, res)
	}
}

// syncWriter serializes writes from the command and the test.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Every command, given a flag it does not know, still prints one envelope
// on stdout: usage errors are errors like the others.
func TestJSONUsageErrorOfEveryCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := cli.NewCmdRoot(cli.NewFactory(cli.IO{Getenv: func(string) string { return "" }}))
	commands := map[string][]string{"ferry": nil}
	for _, cmd := range root.Commands() {
		commands[cmd.Name()] = []string{cmd.Name()}
		for _, sub := range cmd.Commands() {
			commands[cmd.Name()+" "+sub.Name()] = []string{cmd.Name(), sub.Name()}
		}
	}
	for name, args := range commands {
		for _, bogus := range [][]string{{"--bogus", "--json"}, {"--json", "--bogus"}} {
			t.Run(name+" "+strings.Join(bogus, " "), func(t *testing.T) {
				t.Parallel()
				r := ferryIn(t, dir, nil, append(append([]string(nil), args...), bogus...)...)
				if r.code != 2 || !strings.Contains(r.err, "unknown flag: --bogus") {
					t.Fatalf("want a usage error: %s", r)
				}
				checkEnvelope(t, name, r)
			})
		}
	}
}

// ferry sandbox says which clients its environment reaches, and gives the
// --endpoint-url form for the others (the claims are checked with real
// clients by the sandbox package's TestWhichClientsHonourTheEndpointVariables).
func TestSandboxSaysWhichClientsFollowIt(t *testing.T) {
	t.Parallel()
	out := &notifyWriter{ready: make(chan struct{})}
	f := cli.NewFactory(cli.IO{In: strings.NewReader(""), Out: out, Err: &syncWriter{w: &bytes.Buffer{}}, Getenv: func(string) string { return "" }})
	f.WorkDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- cli.Run(ctx, []string{"sandbox", "--instances", "1", "--dir", "sb"}, f) }()
	select {
	case <-out.ready:
	case c := <-code:
		t.Fatalf("sandbox exited %d before printing", c)
	}
	// The text is written in a few calls; all of it is there once the
	// last line, the environment's, is.
	for !strings.Contains(out.String(), "max_errors:") {
		select {
		case c := <-code:
			t.Fatalf("sandbox exited %d:\n%s", c, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-code
	text := out.String()
	ssmURL := regexp.MustCompile(`export AWS_ENDPOINT_URL_SSM=(\S+)`).FindStringSubmatch(text)
	s3URL := regexp.MustCompile(`export AWS_ENDPOINT_URL_S3=(\S+)`).FindStringSubmatch(text)
	if ssmURL == nil || s3URL == nil {
		t.Fatalf("no endpoint variables:\n%s", text)
	}
	for _, want := range []string{
		"boto3 1.28 or later", "the AWS CLI v2 2.13 or later and v1 1.29 or later", "Debian 12's 2.9",
		"#   aws --endpoint-url " + ssmURL[1] + " ssm describe-instance-information\n",
		"#   aws --endpoint-url " + s3URL[1] + " s3 ls s3://ferry-sandbox\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("ferry sandbox does not say %q:\n%s", want, text)
		}
	}
}
