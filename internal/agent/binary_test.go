package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
	"github.com/ferryhq/ferry/internal/testing/winetest"
)

var agentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-agent-bin")
	if err != nil {
		panic(err)
	}
	agentBin = filepath.Join(dir, "ferry-agent")
	out, err := exec.Command("go", "build", "-o", agentBin, "github.com/ferryhq/ferry/cmd/ferry-agent").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ferry-agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := winetest.Main(m) // m.Run, then stops the Wine tests' wineserver
	os.RemoveAll(dir)
	os.Exit(code)
}

func need(t testing.TB, tool string) { t.Helper(); testtool.Need(t, tool) }

const appPy = `import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import greet

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": os.environ.get("FERRY_SHA", "")}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// site is a repository and a deployment root driven through the agent binary.
type site struct {
	t      testing.TB
	repo   string
	root   string
	wheels string
	port   int
	n      int
}

func newSite(t testing.TB) *site {
	need(t, "git")
	need(t, "python3")
	base := t.TempDir()
	s := &site{t: t, repo: filepath.Join(base, "repo"), root: filepath.Join(base, "srv"), wheels: filepath.Join(base, "wheels")}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	os.MkdirAll(s.repo, 0o755)
	os.MkdirAll(s.wheels, 0o755)
	for _, v := range []string{"1.0.0", "2.0.0"} {
		testwheel.Wheel{Name: "greet", Version: v}.Write(s.wheels)
	}
	s.git("init", "-q", "-b", "main")
	s.writeFile("app.py", appPy)
	s.writeFile("requirements.txt", "greet==1.0.0\n")
	s.git("add", "-A")
	s.git("commit", "-q", "-m", "first")
	t.Cleanup(func() {
		if h, err := proc.ReadPIDFile(filepath.Join(s.root, "run", "app.pid")); err == nil {
			proc.Stop(context.Background(), h, 5*time.Second)
		}
	})
	return s
}

func (s *site) writeFile(name, content string) {
	if err := os.WriteFile(filepath.Join(s.repo, name), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) git(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = s.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// change commits a new revision; withReqs also changes requirements so
// that the venv and install steps run.
func (s *site) change(withReqs bool) string {
	s.n++
	s.writeFile("extra.py", fmt.Sprintf("N = %d\n", s.n))
	if withReqs {
		cur, _ := os.ReadFile(filepath.Join(s.repo, "requirements.txt"))
		next := "greet==2.0.0\n"
		if strings.Contains(string(cur), "2.0.0") {
			next = "greet==1.0.0\n"
		}
		s.writeFile("requirements.txt", next)
	}
	s.git("add", "-A")
	s.git("commit", "-q", "-m", fmt.Sprintf("change %d", s.n))
	return s.git("rev-parse", "HEAD")
}

func (s *site) spec(op, sha string) agent.Spec {
	return agent.Spec{
		Protocol: agent.Protocol, Op: op, Root: s.root, App: "app", Environment: "test", SHA: sha,
		Source: agent.Source{Kind: "git", URL: s.repo}, Start: []string{"python", "app.py"}, Python: "python3",
		Requirements: "requirements.txt", Pip: pipOpts(s.wheels), Vars: map[string]string{"PORT": fmt.Sprint(s.port)},
		Health:      agent.HealthSpec{URL: fmt.Sprintf("http://127.0.0.1:%d/health", s.port), Status: 200, VersionField: "version", Deadline: 15 * time.Second, Interval: 200 * time.Millisecond},
		StopTimeout: 5 * time.Second, Deployer: "tester",
	}
}

type agentRun struct {
	code   int
	events []agent.Event
	result *agent.Result
	stderr string
}

// runAgent runs the binary to completion.
func runAgent(t testing.TB, spec agent.Spec, env ...string) agentRun {
	t.Helper()
	enc, err := spec.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return runAgentArgs(t, []string{spec.Op, "--spec-b64", enc}, env...)
}

func runAgentArgs(t testing.TB, args []string, env ...string) agentRun {
	t.Helper()
	cmd := exec.Command(agentBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	r := agentRun{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var ev agent.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("agent printed a line that is not a JSON event: %q", line)
		}
		r.events = append(r.events, ev)
		if ev.Event == "result" {
			r.result = ev.Result
		}
	}
	return r
}

func (r agentRun) String() string {
	b, _ := json.MarshalIndent(r.result, "", "  ")
	return fmt.Sprintf("exit %d, result %s, stderr %s", r.code, b, r.stderr)
}

// startAgent runs the binary in the background and returns once it
// printed the event that match accepts.
func startAgent(t *testing.T, spec agent.Spec, match func(agent.Event) bool, env ...string) *exec.Cmd {
	t.Helper()
	enc, _ := spec.Encode()
	cmd := exec.Command(agentBin, spec.Op, "--spec-b64", enc)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			var ev agent.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil && !ok && match(ev) {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatal("agent ended before the awaited event")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("timed out waiting for the agent")
	}
	return cmd
}

func (s *site) health() string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", s.port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc map[string]string
	json.NewDecoder(resp.Body).Decode(&doc)
	return doc["version"]
}

func (s *site) state() agent.State {
	s.t.Helper()
	var st agent.State
	b, err := os.ReadFile(filepath.Join(s.root, "state.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		s.t.Fatalf("state.json is not valid JSON after a crash: %v", err)
	}
	return st
}

func (s *site) release(id string) *agent.Release {
	for _, r := range s.state().Releases {
		if r.ID == id {
			r := r
			return &r
		}
	}
	return nil
}
