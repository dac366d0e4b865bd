package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// need fails under CI and skips elsewhere when a tool is missing.
func need(t testing.TB, tool string) string { t.Helper(); return testtool.Need(t, tool) }

// slow marks a test that deploys for real (venvs, pip, an app, the
// sandbox): go test -short leaves it out and runs the fast tests alone.
func slow(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("deploys for real; -short runs the fast tests only")
	}
}

// appPy is the test app: it imports greet (installed by pip from a local
// wheel) and serves /health with the deployed SHA. Knobs in the source
// make broken releases.
const appPy = `import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import greet

MODE = "ok"

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        status = 500 if MODE == "unhealthy" else 200
        body = json.dumps({"status": "healthy", "version": os.environ.get("FERRY_SHA", ""), "greet": greet.__version__}).encode()
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

if MODE == "crash":
    print("Traceback (most recent call last):")
    print("RuntimeError: boom at startup")
    sys.exit(3)
print("listening", flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// gatesOff turns off every gate that runs a tool, leaving the built-in
// env check: the tests' apps have no tests, and the tools are slow.
const gatesOff = `gates:
  tests: {enabled: false}
  audit: {enabled: false}
  safety: {enabled: false}
  bandit: {enabled: false}
  flake8: {enabled: false}
  pylint: {enabled: false}
  smoke: {enabled: false}
  deps: {enabled: false}
  env: {required: [PORT]}
`

type fixture struct {
	t      *testing.T
	dir    string // the repository work tree
	root   string // the local target's deployment root
	wheels string
	port   int
	config string
}

// freePort is an app port the way the sandbox gives them: below the
// ephemeral range, never twice.
func freePort(t *testing.T) int {
	port, err := sandbox.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	slow(t)
	need(t, "git")
	need(t, "python3")
	base := t.TempDir()
	f := &fixture{t: t, dir: filepath.Join(base, "repo"), root: filepath.Join(base, "srv"), wheels: filepath.Join(base, "wheels"), port: freePort(t)}
	for _, d := range []string{f.dir, f.wheels} {
		os.MkdirAll(d, 0o755)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if _, err := (testwheel.Wheel{Name: "greet", Version: v}).Write(f.wheels); err != nil {
			t.Fatal(err)
		}
	}
	f.git("init", "-q", "-b", "main")
	f.git("config", "user.name", "Ada Tester")
	f.write("app.py", appPy)
	f.write("requirements.txt", "greet==1.0.0\n")
	f.write("ferry.yml", f.configText(""))
	f.commit("first")
	f.config = filepath.Join(f.dir, "ferry.yml")
	t.Cleanup(f.stopApp)
	return f
}

func (f *fixture) configText(extra string) string {
	return fmt.Sprintf(`app: testapp
start: python app.py
pip:
  no_index: true
  find_links: [%q]
env:
  PORT: "%d"
health:
  url: http://127.0.0.1:%d/health
  version_field: version
  deadline: 2m
  interval: 200ms
stop_timeout: 5s
%senvironments:
  test:
    target: local
    branch: main
    root: %q
%s`, f.wheels, f.port, f.port, gatesOff, f.root, extra)
}

func (f *fixture) write(name, content string) {
	p := filepath.Join(f.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) git(args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Ada Tester", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = f.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit records the work tree and returns the new SHA.
func (f *fixture) commit(msg string) string {
	f.git("add", "-A")
	f.git("commit", "-q", "-m", msg)
	return f.git("rev-parse", "HEAD")
}

// setMode rewrites the app's MODE and commits it.
func (f *fixture) setMode(mode string) string {
	f.write("app.py", strings.Replace(appPy, `MODE = "ok"`, fmt.Sprintf("MODE = %q", mode), 1))
	return f.commit("mode " + mode)
}

type run struct {
	code     int
	out, err string
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
}

// ferry runs the CLI in-process in the repository directory.
func (f *fixture) ferry(args ...string) run {
	f.t.Helper()
	return ferryIn(f.t, f.dir, nil, args...)
}

// ferryIn runs the CLI in-process with dir as its working directory (the
// process's is never changed, so tests run in parallel) and env over the
// process's environment, without GITHUB_ACTIONS unless env sets it.
func ferryIn(t *testing.T, dir string, env map[string]string, args ...string) run {
	t.Helper()
	return ferryWith(t, dir, env, nil, args...)
}

// ferryWith is ferryIn with the factory changed by edit (a fake
// transport, a terminal).
func ferryWith(t *testing.T, dir string, env map[string]string, edit func(*cli.Factory), args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	// Each run has a record index of its own unless the test shares one.
	indexPath := filepath.Join(t.TempDir(), "index.db")
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "GITHUB_ACTIONS":
			return ""
		case "FERRY_INDEX":
			return indexPath
		}
		return os.Getenv(k)
	}
	f := cli.NewFactory(cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: getenv})
	f.WorkDir = dir
	if edit != nil {
		edit(f)
	}
	code := cli.Run(context.Background(), args, f)
	return run{code: code, out: out.String(), err: errb.String()}
}

// health returns the version the app answers with, or "" when it does not.
func (f *fixture) health() string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", f.port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc map[string]string
	json.NewDecoder(resp.Body).Decode(&doc)
	if resp.StatusCode != 200 {
		return ""
	}
	return doc["version"]
}

type stateFile struct {
	Current  string `json:"current"`
	Previous string `json:"previous"`
	Releases []struct {
		ID, SHA, Status, Venv, Reason string
		Pruned                        bool
	} `json:"releases"`
}

func (f *fixture) state() stateFile {
	f.t.Helper()
	var s stateFile
	b, err := os.ReadFile(filepath.Join(f.root, "state.json"))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) stopApp() {
	if h, err := proc.ReadPIDFile(filepath.Join(f.root, "run", "app.pid")); err == nil {
		proc.Stop(context.Background(), h, 5*time.Second)
	}
}

func (f *fixture) releaseStatus(id string) string {
	for _, r := range f.state().Releases {
		if r.ID == id {
			return r.Status
		}
	}
	return ""
}
