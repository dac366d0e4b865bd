package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/sandbox"
)

var (
	agentsOnce sync.Once
	agentsDir  string
	agentsErr  error
)

// testAgents is a FERRY_AGENT_DIR: ferry-agent built for this machine,
// stand-ins for the other platforms (the sandbox runs Linux scripts here).
func testAgents(t *testing.T) string {
	t.Helper()
	agentsOnce.Do(func() {
		agentsDir, agentsErr = os.MkdirTemp("", "ferry-cli-agents")
		if agentsErr != nil {
			return
		}
		for _, goos := range []string{"linux", "windows"} {
			for _, arch := range []string{"amd64", "arm64"} {
				out := filepath.Join(agentsDir, agentbin.FileName(goos, arch))
				if goos != runtime.GOOS || arch != runtime.GOARCH {
					os.WriteFile(out, []byte("stand-in\n"), 0o755)
					continue
				}
				cmd := exec.Command("go", "build", "-o", out, "github.com/ferryhq/ferry/cmd/ferry-agent")
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
				if msg, err := cmd.CombinedOutput(); err != nil {
					agentsErr = fmt.Errorf("build ferry-agent: %v: %s", err, msg)
				}
			}
		}
	})
	if agentsErr != nil {
		t.Fatal(agentsErr)
	}
	return agentsDir
}

// useSandboxEnv points the SDK's default loader, which reads the process
// environment, at sb and at nothing else.
func useSandboxEnv(t *testing.T, sb *sandbox.Sandbox) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

const ssmAppPy = `import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHA = os.environ.get("FERRY_SHA", "")
if os.environ.get("FAIL_SHA") and SHA.startswith(os.environ["FAIL_SHA"]):
    print("crashing on purpose")
    sys.exit(3)

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": SHA}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// ferry deploy, status and rollback on an ssm environment, through the
// sandbox, with the SDK configured by the environment alone
// (AWS_ENDPOINT_URL_SSM and _S3), as a user's shell would.
func TestDeploySSMEnvironmentThroughSandbox(t *testing.T) {
	slow(t)
	need(t, "git")
	need(t, "python3")
	base := t.TempDir()
	sb, err := sandbox.Start(sandbox.Options{Root: filepath.Join(base, "sb"), Instances: 2,
		Env: []string{"FERRY_AGENT_CACHE=" + filepath.Join(base, "agent-cache")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sb.StopApps()
		sb.Close()
	})
	ports, err := sb.GivePorts("ssmapp")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range sb.Instances {
		ids = append(ids, in.ID)
	}
	useSandboxEnv(t, sb)

	f := &fixture{t: t, dir: filepath.Join(base, "repo")}
	os.MkdirAll(f.dir, 0o755)
	f.git("init", "-q", "-b", "main")
	f.write("app.py", ssmAppPy)
	f.write("requirements.txt", "# stdlib only\n")
	f.write("ferry.yml", sb.FerryYML("ssmapp", sandbox.Rollout{MaxConcurrency: "2", MaxErrors: "1"}))
	v1 := f.commit("first")
	env := map[string]string{"FERRY_AGENT_DIR": testAgents(t)}

	r := ferryIn(t, f.dir, env, "deploy", "sandbox", "--skip-gates", "--json")
	if r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	d := decodeDeploy(t, r)
	if d.Outcome != "deployed" || len(d.Targets) != 2 {
		t.Fatalf("deploy result: %+v", d)
	}
	for _, id := range ids {
		if v := version(ports[id]); v != v1 {
			t.Errorf("%s serves %q, want %s", id, v, v1[:8])
		}
		if !strings.Contains(r.err, id+": running") {
			t.Errorf("no progress for %s:\n%s", id, r.err)
		}
	}

	r = ferryIn(t, f.dir, env, "status", "sandbox")
	if r.code != 0 || strings.Count(r.out, "healthy:") != 2 {
		t.Fatalf("status: %s", r)
	}
	for _, id := range ids {
		if !strings.Contains(r.out, id) {
			t.Errorf("status does not report %s:\n%s", id, r.out)
		}
	}

	// ferry exec runs in the serving release on one instance (the first
	// by ID), or with --all on each, with its env file's variables, and
	// exits with the command's status.
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	r = ferryIn(t, f.dir, env, "exec", "sandbox", "--", "python", "-c", "import os; print(os.environ['PORT'], os.environ['FERRY_SHA'])")
	if r.code != 0 || strings.TrimSpace(r.out) != fmt.Sprintf("%d %s", ports[sorted[0]], v1) {
		t.Fatalf("exec on one instance: %s", r)
	}
	r = ferryIn(t, f.dir, env, "exec", "sandbox", "--all", "--", "python", "-c", "import os, sys; print(os.environ['PORT']); sys.exit(4)")
	if r.code != 4 {
		t.Fatalf("exec --all must exit with the command's status 4: %s", r)
	}
	for _, id := range ids {
		if !regexp.MustCompile(`(?m)^== ` + id + `: \S+ \(exit 4\)\n` + fmt.Sprint(ports[id]) + `$`).MatchString(r.out) {
			t.Errorf("exec --all: no output of %s:\n%s", id, r.out)
		}
	}

	// A commit that crashes on the second instance: it rolls back there,
	// and ferry rolls the first back too (exit 3).
	f.write("app.py", ssmAppPy+"# second\n")
	v2 := f.commit("second")
	os.WriteFile(filepath.Join(sb.Instances[1].Dir, "ssmapp", "shared", ".env"), []byte(fmt.Sprintf("PORT=%d\nFAIL_SHA=%s\n", ports[ids[1]], v2[:12])), 0o644)
	r = ferryIn(t, f.dir, env, "deploy", "sandbox", "--skip-gates")
	if r.code != 3 || !strings.Contains(r.err, "fleet rollback") {
		t.Fatalf("want exit 3 with a fleet rollback: %s", r)
	}
	for _, id := range ids {
		if v := version(ports[id]); v != v1 {
			t.Errorf("%s serves %q after the fleet rollback, want %s", id, v, v1[:8])
		}
	}

	// A bucket that is not there: refused before sending, with a hint.
	cfg, _ := os.ReadFile(filepath.Join(f.dir, "ferry.yml"))
	f.write("ferry.yml", strings.Replace(string(cfg), "bucket: "+sb.Bucket, "bucket: missing-bucket", 1))
	f.commit("no bucket")
	r = ferryIn(t, f.dir, env, "deploy", "sandbox", "--skip-gates")
	if r.code != 1 || !strings.Contains(r.err, "missing-bucket does not exist") || !strings.Contains(r.err, "hint: create it") {
		t.Fatalf("missing bucket: %s", r)
	}
}

func version(port int) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc map[string]string
	json.NewDecoder(resp.Body).Decode(&doc)
	return doc["version"]
}

// ferry demo, as a newcomer runs it from a directory of their own (not
// ferry's checkout: the app is embedded): three instances deployed, a
// broken commit rolled back, a healthy status, and nothing left in the
// temporary directory. (internal/testing/releasetest runs a release
// archive's ferry demo, a binary built outside the checkout.)
func TestDemo(t *testing.T) {
	slow(t)
	need(t, "git")
	need(t, "python3")
	elsewhere := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// No AWS anywhere: the demo must not need it.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	start := time.Now()
	// With --json the story goes to stderr, the outcome to stdout.
	r := ferryIn(t, elsewhere, map[string]string{"FERRY_AGENT_DIR": testAgents(t)}, "demo", "--json")
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("demo: %s", r)
	}
	for _, want := range []string{"[1/5]", "[3/5]", "[4/5]", "[5/5]", "exit 3: failed after the switch and rolled back", "All 3 instances serve"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.err)
		}
	}
	res := checkEnvelope(t, "demo", r)
	var demo struct {
		Root      string `json:"root"`
		Good      string `json:"good_sha"`
		Broken    int    `json:"broken_exit_code"`
		Instances []struct {
			Port   int    `json:"port"`
			Serves string `json:"serves"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(res, &demo); err != nil || demo.Broken != 3 || len(demo.Instances) != 3 {
		t.Fatalf("demo result: %v %s", err, res)
	}
	for _, in := range demo.Instances {
		if in.Serves != demo.Good {
			t.Errorf("an instance serves %s, not the good commit %s", in.Serves, demo.Good)
		}
	}
	if m := regexp.MustCompile(`(?m)^✓ i-\S+  http:`).FindAllString(r.err, -1); len(m) != 3 {
		t.Errorf("want three healthy instances in the final status:\n%s", r.err)
	}
	if !strings.Contains(r.err, "Terminated") && !strings.Contains(r.err, "not run") {
		t.Errorf("the broken deploy should stop the rollout after the first instance:\n%s", r.err)
	}
	// The demo stops the apps it started and removes what it wrote.
	for _, in := range demo.Instances {
		if v := version(in.Port); v != "" {
			t.Errorf("an app still answers on port %d after the demo", in.Port)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "ferry-demo-*")); len(left) > 0 || demo.Root == "" {
		t.Errorf("the demo left %v in the temporary directory (its root was %q)", left, demo.Root)
	}
	if _, err := os.Stat(demo.Root); !os.IsNotExist(err) {
		t.Errorf("the demo's root %s is still there: %v", demo.Root, err)
	}
	// Reported, not asserted: on a shared, loaded machine a wall-clock
	// bound fails for reasons that are not the demo's.
	t.Logf("demo took %s", took)
}
