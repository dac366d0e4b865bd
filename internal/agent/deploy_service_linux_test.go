package agent_test

// run_as: service on Linux, proven without systemd as PID 1: a fake
// systemctl (this test binary, started under the name "systemctl" from a
// directory put first on PATH) records every call's argument vector,
// reads the unit the agent wrote with its own parser of systemd's syntax,
// and really starts ExecStart in the background (setsid), so the health
// checks talk to a real app.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const fakeSystemctlEnv = "FERRY_FAKE_SYSTEMCTL_DIR"

func init() {
	if filepath.Base(os.Args[0]) == "systemctl" && os.Getenv(fakeSystemctlEnv) != "" {
		os.Exit(fakeSystemctl(os.Args[1:]))
	}
}

// fakeSystemctl implements the calls the agent makes: daemon-reload,
// enable, restart, stop, and show -p MainPID,ActiveState.
func fakeSystemctl(args []string) int {
	state := os.Getenv(fakeSystemctlEnv)
	if f, err := os.OpenFile(filepath.Join(state, "calls.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		b, _ := json.Marshal(args)
		f.Write(append(b, '\n'))
		f.Close()
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "fake systemctl: "+format+"\n", a...)
		return 1
	}
	if len(args) == 0 {
		return fail("no command")
	}
	unit := args[len(args)-1]
	pidFile := filepath.Join(state, unit+".pid")
	unitPath := filepath.Join(os.Getenv("FERRY_SYSTEMD_DIR"), unit)
	switch args[0] {
	case "daemon-reload":
		return 0
	case "enable":
		if _, err := os.Stat(unitPath); err != nil {
			return fail("Unit file %s does not exist.", unit)
		}
		return 0
	case "show":
		if len(args) != 4 || args[1] != "-p" {
			return fail("unexpected show arguments %q", args)
		}
		pid := readPID(pidFile)
		if pid > 0 && pidAlive(pid) {
			fmt.Printf("MainPID=%d\nActiveState=active\n", pid)
		} else if pid > 0 {
			fmt.Printf("MainPID=0\nActiveState=failed\n")
		} else {
			fmt.Printf("MainPID=0\nActiveState=inactive\n")
		}
		return 0
	case "stop", "restart":
		u, err := parseUnit(unitPath)
		if err != nil {
			return fail("%v", err)
		}
		fakeStop(pidFile, u.stopTimeout)
		if args[0] == "stop" {
			return 0
		}
		if err := fakeStart(u, pidFile); err != nil {
			return fail("Job for %s failed: %v", unit, err)
		}
		return 0
	}
	return fail("unknown command %q", args[0])
}

type parsedUnit struct {
	argv        []string
	dir         string
	env         []string
	envFile     string
	log         string
	stopTimeout time.Duration
}

// parseUnit reads the [Service] settings the agent writes, by systemd's
// rules: "%%" is a literal "%"; ExecStart words are split on white space
// outside quotes, with C escapes inside double quotes and "$$" a literal
// "$".
func parseUnit(path string) (parsedUnit, error) {
	var u parsedUnit
	b, err := os.ReadFile(path)
	if err != nil {
		return u, err
	}
	u.stopTimeout = 90 * time.Second
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v = strings.ReplaceAll(v, "%%", "%")
		switch k {
		case "ExecStart":
			words, err := systemdWords(v)
			if err != nil {
				return u, err
			}
			for i, w := range words {
				words[i] = strings.ReplaceAll(w, "$$", "$")
			}
			u.argv = words
		case "WorkingDirectory":
			u.dir = v
		case "Environment":
			words, err := systemdWords(v)
			if err != nil {
				return u, err
			}
			u.env = append(u.env, words...)
		case "EnvironmentFile":
			u.envFile = strings.TrimPrefix(v, "-")
		case "StandardOutput":
			u.log = strings.TrimPrefix(v, "append:")
		case "TimeoutStopSec":
			n, _ := strconv.Atoi(v)
			u.stopTimeout = time.Duration(n) * time.Second
		}
	}
	if len(u.argv) == 0 || !filepath.IsAbs(u.argv[0]) {
		return u, fmt.Errorf("ExecStart %q needs an absolute program", u.argv)
	}
	return u, nil
}

func systemdWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 't':
				w.WriteByte('\t')
			case 'n':
				w.WriteByte('\n')
			default:
				w.WriteByte(s[i])
			}
		case c == '"':
			quoted = !quoted
			in = true
		case !quoted && (c == ' ' || c == '\t'):
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unbalanced quoting in %q", s)
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

// readEnvironmentFile reads KEY="value" lines with backslash escapes.
func readEnvironmentFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		words, err := systemdWords(v)
		if err != nil || len(words) != 1 {
			return nil, fmt.Errorf("env file line %q: %v", line, err)
		}
		out = append(out, k+"="+words[0])
	}
	return out, nil
}

func fakeStart(u parsedUnit, pidFile string) error {
	env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, u.env...)
	if u.envFile != "" {
		more, err := readEnvironmentFile(u.envFile)
		if err != nil {
			return err
		}
		env = append(env, more...)
	}
	log, err := os.OpenFile(u.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(u.argv[0], u.argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = u.dir, env, log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

// fakeStop is KillMode=mixed: SIGTERM to the main process, SIGKILL to the
// whole group after the timeout.
func fakeStop(pidFile string, timeout time.Duration) {
	pid := readPID(pidFile)
	defer os.Remove(pidFile)
	if pid <= 0 || !pidAlive(pid) {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !pidAlive(pid) {
			return
		}
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	for pidAlive(pid) {
		time.Sleep(10 * time.Millisecond)
	}
}

func readPID(path string) int {
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// pidAlive: running and not a zombie (nobody reaps the fake's orphans at
// once).
func pidAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// fakeSystemd puts the fake first on PATH and returns the environment for
// the agent and the places it writes.
type fakeSystemd struct {
	env      []string
	bin      string
	unitDir  string
	stateDir string
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	f := &fakeSystemd{unitDir: filepath.Join(base, "system"), stateDir: filepath.Join(base, "state")}
	bin := filepath.Join(base, "bin")
	f.bin = filepath.Join(bin, "systemctl")
	for _, d := range []string{f.unitDir, f.stateDir, bin} {
		os.MkdirAll(d, 0o755)
	}
	if err := os.Symlink(self, filepath.Join(bin, "systemctl")); err != nil {
		t.Fatal(err)
	}
	f.env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"FERRY_SYSTEMD_DIR=" + f.unitDir, fakeSystemctlEnv + "=" + f.stateDir}
	t.Cleanup(func() {
		units, _ := filepath.Glob(filepath.Join(f.unitDir, "*.service"))
		for _, u := range units {
			f.systemctl(t, "stop", filepath.Base(u))
		}
	})
	return f
}

func (f *fakeSystemd) systemctl(t *testing.T, args ...string) {
	cmd := exec.Command(f.bin, args...)
	cmd.Env = append(os.Environ(), f.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("systemctl %v: %v %s", args, err, out)
	}
}

// calls returns the recorded argument vectors and forgets them.
func (f *fakeSystemd) calls(t *testing.T) [][]string {
	t.Helper()
	path := filepath.Join(f.stateDir, "calls.jsonl")
	fh, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer os.Remove(path)
	defer fh.Close()
	var out [][]string
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var args []string
		if err := json.Unmarshal(sc.Bytes(), &args); err != nil {
			t.Fatal(err)
		}
		out = append(out, args)
	}
	return out
}

func TestSystemdServiceDeployAndRollback(t *testing.T) {
	s := newSite(t)
	sd := newFakeSystemd(t)
	unit := "ferry-app-test.service"
	svcSpec := func(op, sha string) func() agentRun {
		return func() agentRun {
			sp := s.spec(op, sha)
			sp.RunAs = "service"
			sp.EnvFile = ".env"
			return runAgent(t, sp, sd.env...)
		}
	}
	os.MkdirAll(filepath.Join(s.root, "shared"), 0o755)
	// A secret in the env file, and a value the env file sets that the
	// spec's env overrides (process mode's precedence).
	os.WriteFile(filepath.Join(s.root, "shared", ".env"), []byte("SECRET_KEY=s3cr3t\nPORT=1\n"), 0o600)

	base := s.git("rev-parse", "HEAD")
	if r := svcSpec("apply", base)(); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	if got := s.health(); got != base {
		t.Fatalf("health %q, want %s", got, base)
	}
	want := [][]string{{"daemon-reload"}, {"enable", unit}, {"restart", unit}, {"show", "-p", "MainPID,ActiveState", unit}}
	if got := sd.calls(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("systemctl calls of a first deploy:\n got %q\nwant %q", got, want)
	}
	st := s.state()
	rel := st.Releases[len(st.Releases)-1]
	text, err := os.ReadFile(filepath.Join(sd.unitDir, unit))
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(filepath.Join(sd.unitDir, unit))
	if err != nil {
		t.Fatal(err)
	}
	venvPython := filepath.Join(s.root, "venvs", rel.Venv, "bin", "python")
	if !reflect.DeepEqual(u.argv, []string{venvPython, "app.py"}) || u.dir != filepath.Join(s.root, "releases", rel.ID) {
		t.Fatalf("ExecStart %q in %s", u.argv, u.dir)
	}
	if u.log != filepath.Join(s.root, "shared", "logs", "app-"+rel.ID+".log") {
		t.Fatalf("log %s", u.log)
	}
	for _, line := range []string{"Environment=\"FERRY_SHA=" + base + "\"", "Restart=on-failure", "KillMode=mixed", "TimeoutStopSec=5", "EnvironmentFile=" + filepath.Join(s.root, "run", "ferry-app-test.env")} {
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("unit lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(string(text), "s3cr3t") {
		t.Fatal("the env file's secret leaked into the unit, which `systemctl show` publishes")
	}
	envFile := filepath.Join(s.root, "run", "ferry-app-test.env")
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated env file: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(envFile); !strings.Contains(string(b), `PORT="`+strconv.Itoa(s.port)+`"`) || !strings.Contains(string(b), `SECRET_KEY="s3cr3t"`) {
		t.Fatalf("env file:\n%s", b)
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		// systemd's own parser as a second opinion on the syntax.
		if out, err := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(sd.unitDir, unit)).CombinedOutput(); err != nil {
			t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(s.root, "run", "app.pid")); err == nil {
		t.Fatal("service mode must not leave a process-mode PID file")
	}

	// A second release: stop (systemd waits for the exit), then restart.
	sha2 := s.change(false)
	if r := svcSpec("apply", sha2)(); r.code != 0 || s.health() != sha2 {
		t.Fatalf("second deploy: %s", r)
	}
	want = [][]string{{"show", "-p", "MainPID,ActiveState", unit}, {"stop", unit},
		{"daemon-reload"}, {"enable", unit}, {"restart", unit}, {"show", "-p", "MainPID,ActiveState", unit}}
	if got := sd.calls(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("systemctl calls of a second deploy:\n got %q\nwant %q", got, want)
	}

	// A broken release: the app exits at once. Rolled back, exit 3.
	s.writeFile("app.py", "import sys\nsys.exit(3)\n")
	s.git("add", "-A")
	s.git("commit", "-q", "-m", "broken")
	bad := s.git("rev-parse", "HEAD")
	r := svcSpec("apply", bad)()
	if r.code != 3 {
		t.Fatalf("broken deploy: want exit 3: %s", r)
	}
	if got := s.health(); got != sha2 {
		t.Fatalf("after the rollback the app answers %q, want %s", got, sha2)
	}
	u, _ = parseUnit(filepath.Join(sd.unitDir, unit))
	if cur := s.state().Current; u.dir != filepath.Join(s.root, "releases", cur) || s.release(cur).SHA != sha2 {
		t.Fatalf("the unit runs %s, state's current is %s", u.dir, cur)
	}
	restarts := 0
	for _, c := range sd.calls(t) {
		if c[0] == "restart" {
			restarts++
		}
	}
	if restarts != 2 {
		t.Fatalf("want a restart onto the bad release and one back, got %d", restarts)
	}

	// An explicit rollback to the first release, with its recorded command.
	if r := svcSpec("rollback", "")(); r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	if got := s.health(); got != base {
		t.Fatalf("rollback serves %q, want %s", got, base)
	}
}
