package releasetest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// TestArchiveWithoutGo is the ship issue's "done when": from an empty
// directory on a machine with no Go toolchain (no go on PATH, no GOROOT
// or GOPATH, a HOME with no agent cache), the linux/amd64 archive's ferry
// deploys a fresh git repository of examples/hello through `ferry
// sandbox` (run as a process, configured by the environment it prints),
// and `ferry demo` passes and leaves nothing in the temporary directory.
func TestArchiveWithoutGo(t *testing.T) {
	needActHost(t) // linux/amd64: the archive CI builds
	git := testtool.Need(t, "git")
	testtool.Need(t, "python3")
	s := Build(t)
	ferry := filepath.Join(unpack(t, filepath.Join(s.Dist, ArchiveName(s.Version, Platform{"linux", "amd64"}))), "ferry")

	home, tmp := t.TempDir(), t.TempDir()
	env := noGoEnv(t, home, tmp)
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			for _, d := range filepath.SplitList(kv[len("PATH="):]) {
				if _, err := os.Stat(filepath.Join(d, "go")); err == nil {
					t.Fatalf("go is still on PATH in %s", d)
				}
			}
		}
	}

	// ferry sandbox, as a person runs it in a second terminal.
	sbDir := filepath.Join(t.TempDir(), "sandbox")
	sb := exec.Command(ferry, "sandbox", "--instances", "2", "--dir", sbDir, "--json")
	sb.Dir = t.TempDir()
	sb.Env = env
	stdout, err := sb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var sbErr strings.Builder
	sb.Stderr = &sbErr
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sb.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- sb.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			sb.Process.Kill()
			<-done
			t.Errorf("ferry sandbox did not stop on SIGINT:\n%s", sbErr.String())
		}
	}
	t.Cleanup(stop)
	var envelope struct {
		OK     bool `json:"ok"`
		Result struct {
			Instances []struct {
				ID  string `json:"id"`
				Dir string `json:"dir"`
			} `json:"instances"`
			Env         map[string]string `json:"env"`
			Environment string            `json:"environment"`
		} `json:"result"`
	}
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&envelope); err != nil || !envelope.OK {
		t.Fatalf("ferry sandbox --json: %v %+v\n%s", err, envelope, sbErr.String())
	}
	go io.Copy(io.Discard, stdout)

	// A fresh repository of examples/hello, each instance its own port.
	repo := filepath.Join(t.TempDir(), "hello")
	copyHello(t, repo)
	ports := map[string]int{}
	for _, in := range envelope.Result.Instances {
		port, err := sandbox.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[in.ID] = port
		shared := filepath.Join(in.Dir, "hello", "shared")
		os.MkdirAll(shared, 0o755)
		os.WriteFile(filepath.Join(shared, ".env"), []byte(fmt.Sprintf("PORT=%d\n", port)), 0o644)
	}
	cfg := sandbox.AppYML("hello") + envelope.Result.Environment
	os.WriteFile(filepath.Join(repo, "ferry.yml"), []byte(cfg), 0o644)
	gitEnv := append(env, "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com")
	var sha string
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "hello"}, {"rev-parse", "HEAD"}} {
		out, err := gitOut(git, repo, gitEnv, args...)
		if err != nil {
			t.Fatal(err)
		}
		sha = out
	}

	deployEnv := env
	for k, v := range envelope.Result.Env {
		deployEnv = append(deployEnv, k+"="+v)
	}
	deploy := exec.Command(ferry, "deploy", "sandbox", "--skip-gates")
	deploy.Dir = repo
	deploy.Env = deployEnv
	out, err := deploy.CombinedOutput()
	if err != nil {
		t.Fatalf("ferry deploy sandbox without Go: %v\n%s", err, out)
	}
	for id, port := range ports {
		if v := healthVersion(port); v != sha {
			t.Errorf("%s serves %q, want %s\n%s", id, v, sha, out)
		}
	}
	if strings.Contains(string(out), "building ferry-agent") {
		t.Errorf("ferry built an agent instead of using the archive's:\n%s", out)
	}

	// Agents of another version (FERRY_AGENT_DIR): ferry says so.
	other := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		build := exec.Command("go", append(append([]string{"build"}, agentbin.Flags("9.9.9")...), "-o", filepath.Join(other, agentbin.FileName("linux", arch)), agentbin.Package)...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build an agent of another version: %v\n%s", err, b)
		}
	}
	again := exec.Command(ferry, "deploy", "sandbox", "--skip-gates")
	again.Dir = repo
	again.Env = append(deployEnv, agentbin.EnvDir+"="+other)
	out, err = again.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ran ferry-agent 9.9.9, not this ferry's "+s.Version) {
		t.Errorf("a deploy with agents of another version: %v, want a warning naming both versions\n%s", err, out)
	}
	stop()

	// ferry demo from an empty directory.
	empty := t.TempDir()
	demo := exec.Command(ferry, "demo", "--no-color")
	demo.Dir = empty
	demo.Env = env
	out, err = demo.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "All 3 instances serve") {
		t.Fatalf("ferry demo without Go: %v\n%s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "ferry-demo-*")); len(left) > 0 {
		t.Errorf("ferry demo left %v behind", left)
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Errorf("ferry demo wrote into the directory it ran in: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(home, ".cache", "ferry", agentbin.Dir)); err == nil {
		t.Errorf("ferry cached built agents in %s although the archive has them", home)
	}
}

// noGoEnv is the process's environment as a machine without Go has it:
// no go (nor gofmt) on PATH, no GOROOT, GOPATH or other GO* variable, no
// AWS_* variable, HOME and TMPDIR of the test's own.
func noGoEnv(t *testing.T, home, tmp string) []string {
	t.Helper()
	var env, path []string
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GO"), strings.HasPrefix(k, "AWS_"), k == "HOME", k == "TMPDIR", strings.HasPrefix(k, "XDG_"), k == "FERRY_AGENT_DIR":
			continue
		case k == "PATH":
			for _, d := range filepath.SplitList(v) {
				// A version manager's shims find their interpreters
				// through HOME, which is the test's here.
				if !strings.Contains(d, ".pyenv") {
					path = append(path, withoutGo(t, d))
				}
			}
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+strings.Join(path, string(os.PathListSeparator)), "HOME="+home, "TMPDIR="+tmp, "AWS_EC2_METADATA_DISABLED=true")
}

// withoutGo is dir, or, when it holds go or gofmt, a directory of links
// to everything else in it.
func withoutGo(t *testing.T, dir string) string {
	t.Helper()
	_, e1 := os.Stat(filepath.Join(dir, "go"))
	_, e2 := os.Stat(filepath.Join(dir, "gofmt"))
	if e1 != nil && e2 != nil {
		return dir
	}
	shadow := t.TempDir()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "go" || e.Name() == "gofmt" {
			continue
		}
		os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(shadow, e.Name()))
	}
	return shadow
}

// copyHello copies examples/hello's app, requirements and tests to dir.
func copyHello(t *testing.T, dir string) {
	t.Helper()
	root, ok := agentbin.FindModule(mustWd(t))
	if !ok {
		t.Fatal("no checkout")
	}
	for _, f := range []string{"app.py", "requirements.txt", "tests/test_app.py"} {
		b, err := os.ReadFile(filepath.Join(root, "examples", "hello", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustWd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// healthVersion is the commit the app on port reports.
func healthVersion(port int) string {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var doc struct{ Version string }
	json.NewDecoder(resp.Body).Decode(&doc)
	return doc.Version
}
