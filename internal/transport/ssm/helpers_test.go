package ssm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/pyenv"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// agentDir holds ferry-agent built by TestMain for this machine, under the
// names agentbin expects. The binaries of other platforms are stand-ins:
// the emulator runs Linux scripts on this machine only.
var agentDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-ssm-agents")
	if err != nil {
		panic(err)
	}
	agentDir = dir
	for _, goos := range []string{"linux", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			out := filepath.Join(dir, agentbin.FileName(goos, arch))
			if goos == runtime.GOOS && arch == runtime.GOARCH {
				// Stripped, as releases build it, so each run hashes less.
				cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "github.com/ferryhq/ferry/cmd/ferry-agent")
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
				if msg, err := cmd.CombinedOutput(); err != nil {
					fmt.Fprintf(os.Stderr, "build ferry-agent: %v\n%s", err, msg)
					os.Exit(1)
				}
				continue
			}
			os.WriteFile(out, []byte("stand-in for ferry-agent "+goos+"/"+arch+"\n"), 0o755)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		testtool.Need(t, tool)
	}
}

// appPy is a stdlib-only app. FAIL_SHA in an instance's env file makes the
// commits whose SHA starts with it crash at start on that instance alone,
// after printing FAIL_LINES lines of FAIL_WIDTH characters; START_DELAY
// makes it take that many seconds to listen.
const appPy = `import json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHA = os.environ.get("FERRY_SHA", "")
time.sleep(float(os.environ.get("START_DELAY", "0")))
FAIL = os.environ.get("FAIL_SHA", "")
if FAIL and SHA.startswith(FAIL):
    for i in range(int(os.environ.get("FAIL_LINES", "3"))):
        print("boom %d %s" % (i, "x" * int(os.environ.get("FAIL_WIDTH", "10"))))
    sys.exit(3)

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "healthy", "version": SHA}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

const requirements = "# standard library only\n"

// fleet is a sandbox of Linux instances, each with its own port in its
// env file, and a repository to deploy from.
type fleet struct {
	t     testing.TB
	sb    *sandbox.Sandbox
	repo  string
	ports map[string]int
	ids   []string
}

const root = "~/app"

func newFleet(t testing.TB, n int, opts sandbox.Options) *fleet {
	t.Helper()
	need(t, "git", "python3", "sh")
	base := t.TempDir()
	opts.Root = filepath.Join(base, "sandbox")
	opts.Instances = n
	opts.Env = append(opts.Env, "FERRY_AGENT_CACHE="+filepath.Join(base, "agent-cache"))
	sb, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, sb: sb, repo: filepath.Join(base, "repo"), ports: map[string]int{}}
	t.Cleanup(func() {
		f.stopApps()
		sb.Close()
	})
	venv := templateVenv(t)
	for _, in := range sb.Instances {
		f.ids = append(f.ids, in.ID)
		f.ports[in.ID] = freePort(t)
		f.setEnv(in.ID, "")
		// A copy of one prepared venv under the key the agent computes, so
		// that n instances do not each spend seconds in python -m venv.
		dst := filepath.Join(f.rootOf(in.ID), "venvs", filepath.Base(venv))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if out, err := exec.Command("cp", "-a", venv, dst).CombinedOutput(); err != nil {
			t.Fatalf("copy venv: %v: %s", err, out)
		}
	}
	os.MkdirAll(f.repo, 0o755)
	f.git("init", "-q", "-b", "main")
	f.write("app.py", appPy)
	f.write("requirements.txt", requirements)
	f.commit("first")
	return f
}

var (
	venvOnce sync.Once
	venvPath string
	venvErr  error
	// python is the interpreter itself, as a server's config names it,
	// rather than a version manager's shim that costs 60 ms a call.
	python string
)

// templateVenv is a complete venv named by the key the agent will compute
// for python3, the requirements and the pip options of spec().
func templateVenv(t testing.TB) string {
	venvOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "ferry-ssm-venv")
		if err != nil {
			venvErr = err
			return
		}
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			venvErr = err
			return
		}
		python = strings.TrimSpace(string(out))
		v, err := pyenv.Version(ctx, python)
		if err != nil {
			venvErr = err
			return
		}
		s := (&fleet{}).spec(agent.OpApply, "")
		key := pyenv.Key(v, []byte(requirements), s.Pip, "")
		venvPath = filepath.Join(dir, key)
		if venvErr = pyenv.Create(ctx, python, venvPath, false); venvErr != nil {
			return
		}
		venvErr = pyenv.MarkComplete(venvPath, key)
	})
	if venvErr != nil {
		t.Fatalf("template venv: %v", venvErr)
	}
	return venvPath
}

// freePort picks an app port the way the sandbox gives them.
func freePort(t testing.TB) int {
	port, err := sandbox.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func (f *fleet) rootOf(id string) string {
	for _, in := range f.sb.Instances {
		if in.ID == id {
			return filepath.Join(in.Dir, "app")
		}
	}
	f.t.Fatalf("no instance %s", id)
	return ""
}

// setEnv writes the instance's env file: its port, plus extra lines.
func (f *fleet) setEnv(id, extra string) {
	p := filepath.Join(f.rootOf(id), "shared", ".env")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(fmt.Sprintf("PORT=%d\n%s", f.ports[id], extra)), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) write(name, content string) {
	if err := os.WriteFile(filepath.Join(f.repo, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) git(args ...string) string {
	cmd := exec.Command("git", append([]string{"-c", "user.name=Ada Tester", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = f.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		panic(fmt.Sprintf("git %v: %v\n%s", args, err, out))
	}
	return strings.TrimSpace(string(out))
}

func (f *fleet) commit(msg string) string {
	f.git("add", "-A")
	f.git("commit", "-q", "--allow-empty", "-m", msg)
	return f.git("rev-parse", "HEAD")
}

func (f *fleet) head() string { return f.git("rev-parse", "HEAD") }

// spec is what the CLI would build for this app.
func (f *fleet) spec(op, sha string) agent.Spec {
	s := agent.Spec{
		Protocol: agent.Protocol, Op: op, Root: root, App: "testapp", Environment: "test",
		Start: []string{"python", "app.py"}, EnvFile: ".env",
		Health: agent.HealthSpec{URL: "http://127.0.0.1:${PORT}/health", Status: 200, VersionField: "version",
			Deadline: 2 * time.Minute, Interval: 100 * time.Millisecond},
		StopTimeout: 5 * time.Second, KeepReleases: 3, KeepFailed: 2, Deployer: "Ada Tester",
	}
	if op == agent.OpApply {
		s.SHA = sha
		s.Source = agent.Source{Kind: "git", URL: f.repo, Subdir: "."}
		s.Python, s.Requirements = python, "requirements.txt"
		s.Pip.NoIndex = true
	}
	return s
}

func (f *fleet) options(mod func(*ssm.Options)) ssm.Options {
	cfg := f.sb.AWSConfig()
	o := ssm.Options{
		Region: f.sb.Region, InstanceIDs: append([]string(nil), f.ids...), Bucket: f.sb.Bucket, Prefix: "ferry",
		ExecutionTimeout: 10 * time.Minute, MaxConcurrency: "50", MaxErrors: "0", FleetRollback: true,
		RepoDir: f.repo, AppDir: ".", Agents: agentbin.InDir(agentDir), AWSConfig: &cfg,
		PollMin: 100 * time.Millisecond, PollMax: time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	return o
}

// recorder keeps the progress events.
type recorder struct {
	mu     sync.Mutex
	events []string
	on     func(target string, ev agent.Event)
}

func (r *recorder) progress(target string, ev agent.Event) {
	r.mu.Lock()
	r.events = append(r.events, string(ev.Event)+" "+ev.Msg)
	on := r.on
	r.mu.Unlock()
	if on != nil {
		on(target, ev)
	}
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, "\n")
}

// run runs spec through a transport made of opts.
func (f *fleet) run(ctx context.Context, opts ssm.Options, spec agent.Spec, rec *recorder) ([]transport.TargetResult, error) {
	f.t.Helper()
	tr, err := ssm.New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	if rec == nil {
		rec = &recorder{}
	}
	return tr.Run(ctx, spec, rec.progress)
}

// deploy applies sha to every instance and requires success.
func (f *fleet) deploy(sha string) []transport.TargetResult {
	f.t.Helper()
	rec := &recorder{}
	res, err := f.run(testCtx(f.t), f.options(nil), f.spec(agent.OpApply, sha), rec)
	if err != nil {
		f.t.Fatalf("deploy %s: %v\n%s", sha[:8], err, rec)
	}
	for _, r := range res {
		if r.Result.ExitCode != 0 {
			f.t.Fatalf("deploy %s on %s: %s %s\n%s", sha[:8], r.Target, r.Result.Outcome, r.Result.Error, rec)
		}
	}
	return res
}

// testCtx ends only near the test binary's own deadline (go test
// -timeout): a loaded machine makes a deploy slow, not wrong, and a deploy
// that hangs is still cancelled, and reported, before the binary is killed.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), giveUpAt(t))
	t.Cleanup(cancel)
	return ctx
}

// giveUpAt is shortly before the test binary's deadline.
func giveUpAt(t testing.TB) time.Time {
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := tt.Deadline(); ok {
			return d.Add(-30 * time.Second)
		}
	}
	return time.Now().Add(24 * time.Hour)
}

// serving returns the version the instance's app answers with, or "".
func (f *fleet) serving(id string) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", f.ports[id]))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc map[string]string
	json.NewDecoder(resp.Body).Decode(&doc)
	return doc["version"]
}

func (f *fleet) stopApps() {
	f.sb.StopApps()
	// An agent killed between starting the app and writing its PID file
	// (cancel and timeout tests do that) leaves an app no file names: find
	// it by its working directory.
	if runtime.GOOS != "linux" {
		return
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, d := range dirs {
		cwd, err := os.Readlink(d)
		if err != nil || !strings.HasPrefix(cwd, f.sb.Root+string(filepath.Separator)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil && pid != os.Getpid() {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	}
}

func byTarget(res []transport.TargetResult) map[string]agent.Result {
	m := map[string]agent.Result{}
	for _, r := range res {
		m[r.Target] = r.Result
	}
	return m
}

func sendCommands(f *fleet, accepted bool) int {
	n := 0
	for _, c := range f.sb.Emulator.Calls() {
		if c.Operation == "SendCommand" && (!accepted || c.Error == "") {
			n++
		}
	}
	return n
}
