package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// These tests send real signals to real binaries, built here, while a
// slow step runs: SIGTERM (timeout, systemd, a cancelled GitHub Actions
// job) and SIGHUP must be Ctrl-C in ferry as in ferry-agent (whose own
// tests, in internal/agent, cover it alone).

func build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// slowTool writes its PID and its grandchild's (in its process group)
// beside $MARKER.<name>, then waits for ever.
const slowTool = `#!/bin/sh
sh -c 'echo $$ > "$0.grandchild"; exec sleep 600' "$MARKER.$NAME" &
echo $$ > "$MARKER.$NAME.child"
wait
`

// slowPython is python3, except that -m venv is slowTool.
const slowPython = `#!/bin/sh
case " $* " in
*" -m venv "*) NAME=venv; export NAME; exec "$(dirname "$0")/slowtool" ;;
*) exec python3 "$@" ;;
esac
`

type fixture struct {
	t      *testing.T
	repo   string
	bin    string
	marker string
	env    []string
}

func newFixture(t *testing.T, flake8 bool) *fixture {
	testtool.Need(t, "git")
	testtool.Need(t, "python3")
	f := &fixture{t: t, repo: filepath.Join(t.TempDir(), "app"), bin: t.TempDir()}
	f.marker = filepath.Join(f.bin, "marker")
	for name, body := range map[string]string{"slowtool": slowTool, "python3-slow": slowPython, "flake8": "#!/bin/sh\nNAME=flake8; export NAME; exec \"$(dirname \"$0\")/slowtool\"\n"} {
		os.WriteFile(filepath.Join(f.bin, name), []byte(body), 0o755)
	}
	f.env = append(os.Environ(), "MARKER="+f.marker, "PATH="+f.bin+":"+os.Getenv("PATH"), "CI=", "GITHUB_ACTIONS=")
	os.MkdirAll(f.repo, 0o755)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	f.write("app.py", "print('hi')\n")
	f.write("requirements.txt", "")
	gate := "flake8: {enabled: false}"
	if flake8 {
		gate = "flake8: {enabled: true}"
	}
	f.write("ferry.yml", fmt.Sprintf(`app: sigapp
start: python app.py
python: %s
env:
  PORT: "%d"
health:
  url: http://127.0.0.1:%d/health
gates:
  tests: {enabled: false}
  audit: {enabled: false}
  safety: {enabled: false}
  bandit: {enabled: false}
  pylint: {enabled: false}
  smoke: {enabled: false}
  deps: {enabled: false}
  env: {enabled: false}
  %s
environments:
  test:
    target: local
    branch: main
    root: srv
`, filepath.Join(f.bin, "python3-slow"), port, port, gate))
	f.git("init", "-q", "-b", "main")
	f.git("add", "-A")
	f.git("commit", "-q", "-m", "first")
	return f
}

func (f *fixture) write(name, content string) {
	if err := os.WriteFile(filepath.Join(f.repo, name), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) git(args ...string) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = f.repo
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func (f *fixture) pid(name, kind string) int {
	b, _ := os.ReadFile(f.marker + "." + name + "." + kind)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	b := poll.Backoff{Initial: 10 * time.Millisecond, Max: 250 * time.Millisecond, Deadline: 2 * time.Minute}
	if err := poll.Until(context.Background(), b, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func alive(pid int) bool { return pid > 0 && proc.Alive(proc.Handle{PID: pid}) }

// run starts ferry with args, waits until the slow tool name runs, sends
// sig, and returns the exit code and stdout once ferry exited; the tool
// and its grandchild must be gone.
func (f *fixture) run(ferry, name string, sig syscall.Signal, args ...string) (int, string) {
	t := f.t
	t.Helper()
	cmd := exec.Command(ferry, args...)
	cmd.Dir = f.repo
	cmd.Env = f.env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		for _, k := range []string{"child", "grandchild"} {
			if p := f.pid(name, k); p > 0 {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	waitUntil(t, name+" and its grandchild to run", func() bool { return f.pid(name, "child") > 0 && f.pid(name, "grandchild") > 0 })
	cmd.Process.Signal(sig)
	cmd.Wait()
	for _, k := range []string{"child", "grandchild"} {
		p := f.pid(name, k)
		waitUntil(t, fmt.Sprintf("%s's %s (pid %d) to be gone after %v to ferry (stderr: %s)", name, k, p, sig, errOut.String()), func() bool { return !alive(p) })
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

func TestFerryCheckTreatsSIGTERMAsCtrlC(t *testing.T) {
	ferry := build(t, "github.com/ferryhq/ferry/cmd/ferry")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			f := newFixture(t, true)
			code, _ := f.run(ferry, "flake8", sig, "check")
			if code < 0 {
				t.Fatalf("ferry check died of %v instead of ending the gates", sig)
			}
		})
	}
}

func TestFerryDeployTreatsSIGTERMAsCtrlC(t *testing.T) {
	ferry := build(t, "github.com/ferryhq/ferry/cmd/ferry")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			f := newFixture(t, false)
			code, out := f.run(ferry, "venv", sig, "deploy", "test", "--json")
			if code != 1 {
				t.Fatalf("ferry deploy after %v: exit %d, want 1 (nothing changed)\n%s", sig, code, out)
			}
			var env map[string]any
			if err := json.Unmarshal([]byte(out), &env); err != nil {
				t.Fatalf("ferry deploy --json after %v printed no envelope: %v\n%s", sig, err, out)
			}
			if !strings.Contains(out, "interrupted by a signal") || strings.Contains(out, "signal: killed") {
				t.Fatalf("the result must say the deploy was interrupted:\n%s", out)
			}
			root := filepath.Join(f.repo, "srv")
			if _, err := os.Stat(filepath.Join(root, "lock", "owner.json")); !os.IsNotExist(err) {
				t.Fatalf("the lock is left behind: %v", err)
			}
		})
	}
}
