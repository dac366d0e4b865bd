package agent_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

// slowPython is a python3 whose `-m venv` is slow and leaves work behind
// the way ensurepip does: a grandchild in the child's process group
// (which PR_SET_PDEATHSIG does not reach), and, with ESCAPE set, a
// process that left the group (setsid) but works in the root. Each writes
// its PID beside $MARKER.
const slowPython = `#!/bin/sh
case " $* " in
*" -m venv "*)
	mkdir -p "$3"
	sh -c 'echo $$ > "$0.grandchild"; exec sleep 600' "$MARKER" &
	if [ -n "$ESCAPE" ]; then
		(cd "$3" && setsid sh -c 'echo $$ > "$1.escaped"; sleep 600; :' "$3" "$MARKER" &)
	fi
	echo $$ > "$MARKER.child"
	wait
	;;
*) exec python3 "$@" ;;
esac
`

// slowVenv is a site whose next deploy hangs in its venv step.
type slowVenv struct {
	*site
	marker string
	env    []string
}

func newSlowVenv(t *testing.T, escape bool) *slowVenv {
	s := newSite(t)
	dir := t.TempDir()
	py := filepath.Join(dir, "python3")
	if err := os.WriteFile(py, []byte(slowPython), 0o755); err != nil {
		t.Fatal(err)
	}
	v := &slowVenv{site: s, marker: filepath.Join(dir, "marker")}
	v.env = []string{"MARKER=" + v.marker}
	if escape {
		v.env = append(v.env, "ESCAPE=1")
	}
	t.Cleanup(func() {
		for _, k := range []string{"child", "grandchild", "escaped"} {
			if pid := v.pid(k); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return v
}

// pid reads the PID the slow venv wrote for kind, 0 when not (yet) there.
func (v *slowVenv) pid(kind string) int {
	b, err := os.ReadFile(v.marker + "." + kind)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// startHung starts a deploy that hangs in its venv step and returns once
// the slow venv's processes all run.
func (v *slowVenv) startHung(t *testing.T, escape bool) *exec.Cmd {
	t.Helper()
	spec := v.spec("apply", v.change(true))
	spec.Python = filepath.Join(filepath.Dir(v.marker), "python3")
	enc, _ := spec.Encode()
	cmd := exec.Command(agentBin, "apply", "--spec-b64", enc)
	cmd.Env = append(os.Environ(), v.env...)
	var out strings.Builder
	cmd.Stdout = &out
	// An orphan holding the output pipe must not hang the test.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	kinds := []string{"child", "grandchild"}
	if escape {
		kinds = append(kinds, "escaped")
	}
	waitUntil(t, "the venv step's processes to start", func() bool {
		for _, k := range kinds {
			if v.pid(k) == 0 {
				return false
			}
		}
		return true
	})
	return cmd
}

func alive(pid int) bool { return pid > 0 && proc.Alive(proc.Handle{PID: pid}) }

// strays lists the processes other than the app's (its session) whose
// working directory or arguments are under root.
func strays(root string, app int) []string {
	appSID := -1
	if app > 0 {
		appSID = sid(app)
	}
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		if sid(pid) == appSID {
			continue
		}
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.HasPrefix(cwd, root) || strings.Contains(args, root) {
			out = append(out, fmt.Sprintf("pid %d (cwd %s): %s", pid, cwd, args))
		}
	}
	return out
}

// TestSignalEndsDeployLikeCtrlC sends SIGTERM, SIGHUP and SIGINT to a
// real ferry-agent while its venv step runs: each is Ctrl-C. The agent
// kills the step's whole process group (the grandchild too), releases
// the lock, and still prints a result that says it was interrupted.
func TestSignalEndsDeployLikeCtrlC(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			v := newSlowVenv(t, false)
			if r := runAgent(t, v.spec("apply", v.git("rev-parse", "HEAD"))); r.code != 0 {
				t.Fatalf("first deploy: %s", r)
			}
			cmd := v.startHung(t, false)
			out := cmd.Stdout.(*strings.Builder)
			cmd.Process.Signal(sig)
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("after %v the agent must exit 1 (nothing changed), got %d (%v)\n%s", sig, code, cmd.ProcessState, out)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, `"event":"result"`) || !strings.Contains(last, `"interrupted":true`) || !strings.Contains(last, "interrupted by a signal") || strings.Contains(last, "signal: killed") {
				t.Fatalf("the result must say the deploy was interrupted by a signal:\n%s", last)
			}
			for _, k := range []string{"child", "grandchild"} {
				pid := v.pid(k)
				waitUntil(t, fmt.Sprintf("the venv's %s (pid %d) to be killed", k, pid), func() bool { return !alive(pid) })
			}
			if _, err := os.Stat(filepath.Join(v.root, "lock", "owner.json")); !os.IsNotExist(err) {
				t.Fatalf("the lock is left behind after %v: %v", sig, err)
			}
			r := runAgent(t, v.spec("apply", v.git("rev-parse", "HEAD")))
			if r.code != 0 {
				t.Fatalf("deploy after the interrupted one: %s", r)
			}
			for _, w := range r.result.Warnings {
				if strings.Contains(w, "lock") {
					t.Fatalf("the interrupted deploy must have released its lock: %q", w)
				}
			}
		})
	}
}

// TestKillNineLeavesNoOrphan kills -9 a real ferry-agent while its venv
// step runs: the child dies with it (parent-death signal); the grandchild
// in its group and a process that left the group but works in the root
// are killed by the next deploy, which takes over the lock and succeeds,
// leaving nothing of the dead deploy running.
func TestKillNineLeavesNoOrphan(t *testing.T) {
	v := newSlowVenv(t, true)
	if r := runAgent(t, v.spec("apply", v.git("rev-parse", "HEAD"))); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	cmd := v.startHung(t, true)
	cmd.Process.Kill()
	cmd.Wait()
	child := v.pid("child")
	waitUntil(t, "the venv child to die with the agent", func() bool { return !alive(child) })

	r := runAgent(t, v.spec("apply", v.change(true)))
	if r.code != 0 {
		t.Fatalf("deploy after kill -9 during venv: %s", r)
	}
	for _, k := range []string{"grandchild", "escaped"} {
		if pid := v.pid(k); alive(pid) {
			t.Errorf("the dead deploy's %s (pid %d) still runs after the next deploy took over", k, pid)
		}
	}
	if left := strays(v.root, v.appPID()); len(left) > 0 {
		t.Errorf("processes of the dead deploy still work in the root:\n%s", strings.Join(left, "\n"))
	}
	warned := strings.Join(r.result.Warnings, "\n")
	if !strings.Contains(warned, "stale lock") || !strings.Contains(warned, "killed") {
		t.Errorf("the takeover must say what it killed: %q", warned)
	}
}

// sid is pid's session ID (field 6 of /proc/PID/stat), -2 when unknown.
func sid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -2
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return -2
	}
	n, _ := strconv.Atoi(f[3])
	return n
}
