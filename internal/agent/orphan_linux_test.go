package agent_test

import (
	"fmt"
	"math/rand/v2"
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
	for d; do :; done # the venv's directory is the last argument
	mkdir -p "$d"
	sh -c 'echo $$ > "$0.grandchild"; exec sleep 600' "$MARKER" &
	if [ -n "$ESCAPE" ]; then
		(cd "$d" && setsid sh -c 'echo $$ > "$1.escaped"; sleep 600; :' "$d" "$MARKER" &)
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
		if strings.Contains(args, " empty-trash ") {
			continue // the remover a finished deploy started: not the dead one's
		}
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

// rounds is how many rounds a randomized test runs: FERRY_STRESS_ROUNDS,
// else def.
func rounds(def int) int {
	if n, err := strconv.Atoi(os.Getenv("FERRY_STRESS_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return def
}

// TestKillNineAtRandomInstants kills -9 real deploys (new requirements,
// so venv and pip run) at random instants: after each, the next deploy
// succeeds, nothing partial is left, state.json is whole, the new commit
// serves, and no process of a dead deploy still works in the root.
func TestKillNineAtRandomInstants(t *testing.T) {
	s := newSite(t)
	t0 := time.Now()
	if r := runAgent(t, s.spec("apply", s.git("rev-parse", "HEAD"))); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	span := time.Since(t0) // how long a deploy with a new venv takes here
	n, hits := rounds(4), 0
	defer func() { t.Logf("%d of %d kills landed while the deploy ran", hits, n) }()
	for i := 0; i < n; i++ {
		// Requirements never seen before: a new venv and pip every time.
		s.writeFile("requirements.txt", fmt.Sprintf("greet==%d.0.0\n# round %d\n", 1+i%2, i))
		sha := s.change(false)
		enc, _ := s.spec("apply", sha).Encode()
		cmd := exec.Command(agentBin, "apply", "--spec-b64", enc)
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		at := time.Duration(rand.Int64N(int64(span)))
		time.Sleep(at)
		cmd.Process.Kill()
		cmd.Wait()
		if cmd.ProcessState.Exited() {
			hits-- // it had finished: this round tests nothing new
			t.Logf("round %d: the deploy ended (exit %d) before the kill:\n%.2000s", i, cmd.ProcessState.ExitCode(), out.String())
		}
		hits++
		r := runAgent(t, s.spec("apply", sha))
		if r.code != 0 {
			t.Fatalf("round %d (killed %s into a %s deploy): the next deploy failed: %s", i, at, span, r)
		}
		if got := s.health(); got != sha {
			t.Fatalf("round %d: serving %q, want %s", i, got, sha)
		}
		s.state()
		if left, _ := filepath.Glob(filepath.Join(s.root, "releases", "*.partial")); len(left) > 0 {
			t.Fatalf("round %d: partial releases left: %v", i, left)
		}
		if left := strays(s.root, s.appPID()); len(left) > 0 {
			t.Fatalf("round %d (killed %s in): processes of the dead deploy still work in the root:\n%s", i, at, strings.Join(left, "\n"))
		}
		t.Logf("round %d: killed %s into the deploy; recovered (%d warnings)", i, at.Round(time.Millisecond), len(r.result.Warnings))
	}
}

// TestConcurrentTakeoverOneHolder races three real deploys, round after
// round, against the lock a dead deploy left: at most one of them takes
// it over (the others wait their turn or are refused), every one ends 0
// or 5, and one succeeds.
func TestConcurrentTakeoverOneHolder(t *testing.T) {
	s := newSite(t)
	sha := s.git("rev-parse", "HEAD")
	if r := runAgent(t, s.spec("apply", sha)); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	host, _ := os.Hostname()
	enc, _ := s.spec("apply", sha).Encode()
	for i := 0; i < rounds(5); i++ {
		dead := exec.Command("true")
		dead.Run()
		os.MkdirAll(filepath.Join(s.root, "lock"), 0o755)
		owner := fmt.Sprintf(`{"who":"dead","op":"apply","pid":%d,"host":%q,"since":%q,"ttl":3600000000000,"file_lock":true}`,
			dead.Process.Pid, host, time.Now().UTC().Format(time.RFC3339))
		os.WriteFile(filepath.Join(s.root, "lock", "owner.json"), []byte(owner), 0o644)
		cmds := make([]*exec.Cmd, 3)
		outs := make([]*strings.Builder, 3)
		for j := range cmds {
			cmds[j] = exec.Command(agentBin, "apply", "--spec-b64", enc)
			outs[j] = &strings.Builder{}
			cmds[j].Stdout = outs[j]
			cmds[j].Start()
		}
		takeovers, ok := 0, 0
		for j, c := range cmds {
			c.Wait()
			switch code := c.ProcessState.ExitCode(); code {
			case 0:
				ok++
			case 5:
			default:
				t.Fatalf("round %d: a racing deploy exited %d:\n%s", i, code, outs[j])
			}
			if strings.Contains(outs[j].String(), "taking over a stale lock") {
				takeovers++
			}
		}
		if ok == 0 || takeovers > 1 {
			t.Fatalf("round %d: %d deploys succeeded, %d took over the dead deploy's lock (want ≥1 and ≤1)", i, ok, takeovers)
		}
	}
}
