//go:build linux

package agent_test

// The agent's Windows build, run under Wine with drive-letter roots and
// real HTTP from this side. The app is internal/testing/testapp built for Windows
// (no Windows Python can be installed offline), deployed with python: none
// from a tar.gz archive through a file:///D:/... URL.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/testing/winetest"
)

// wineSite is one deployment root on a mapped drive, driven through the
// agent's Windows build.
type wineSite struct {
	t     *testing.T
	w     *winetest.Wine
	agent string // Linux path of ferry-agent.exe
	dir   string // Linux directory mapped to the drive
	drive string // "D:"
	root  string // Windows root, e.g. D:\Apps\Billing
	port  int
	url   string // the artifact, file:///D:/...
	sum   string // its SHA-256
}

// The artifact is built once per test binary: building testapp for
// Windows and compressing it are the slow part.
var wineArtifactCache struct {
	sync.Mutex
	tgz []byte
	sum string
}

// wineArtifact is a release archive: testapp.exe and a plain file.
func wineArtifact(t *testing.T) ([]byte, string) {
	t.Helper()
	wineArtifactCache.Lock()
	defer wineArtifactCache.Unlock()
	if wineArtifactCache.tgz != nil {
		return wineArtifactCache.tgz, wineArtifactCache.sum
	}
	exe := winetest.Build(t, "github.com/ferryhq/ferry/internal/testing/testapp")
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, f := range []struct {
		name string
		mode int64
		body []byte
	}{{"testapp.exe", 0o755, bin}, {"hello.txt", 0o644, []byte("hello from the release\r\n")}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		tw.Write(f.body)
	}
	tw.Close()
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	wineArtifactCache.tgz, wineArtifactCache.sum = buf.Bytes(), hex.EncodeToString(sum[:])
	return wineArtifactCache.tgz, wineArtifactCache.sum
}

// newWineSite maps a fresh directory to a drive and roots the target at
// rel under it (Windows separators).
func newWineSite(t *testing.T, rel string) *wineSite {
	t.Helper()
	w := winetest.Shared(t)
	s := &wineSite{t: t, w: w, agent: winetest.Build(t, "github.com/ferryhq/ferry/cmd/ferry-agent"), dir: t.TempDir()}
	s.drive = w.MapDrive(t, s.dir)
	s.root = s.drive + `\` + rel
	tgz, sum := wineArtifact(t)
	if err := os.MkdirAll(filepath.Join(s.dir, "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "artifacts", "billing.tgz"), tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	s.url, s.sum = "file:///"+s.drive+"/artifacts/billing.tgz", sum
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	t.Cleanup(func() {
		// End what the test left serving; Main's wineserver shutdown
		// would, but only at the end of the whole binary.
		if h := s.health(); h.PID != 0 {
			s.w.Run(context.Background(), "taskkill.exe", []string{"/f", "/pid", fmt.Sprint(h.PID)}, winetest.RunOptions{})
		}
	})
	return s
}

// linux is the Linux path of a place under the root.
func (s *wineSite) linux(parts ...string) string {
	rel := strings.ReplaceAll(strings.TrimPrefix(s.root, s.drive+`\`), `\`, "/")
	return filepath.Join(append([]string{s.dir, rel}, parts...)...)
}

func newSHA(t *testing.T) string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *wineSite) spec(op, sha string) agent.Spec {
	return agent.Spec{
		Protocol: agent.Protocol, Op: op, Root: s.root, App: "billing", Environment: "test", SHA: sha,
		Source: agent.Source{Kind: "archive", URL: s.url, SHA256: s.sum},
		Start:  []string{"testapp.exe"}, Python: agent.NoPython, Requirements: "requirements.txt",
		Vars:        map[string]string{"PORT": fmt.Sprint(s.port)},
		Health:      agent.HealthSpec{URL: fmt.Sprintf("http://127.0.0.1:%d/health", s.port), Status: 200, VersionField: "version", Deadline: 30 * time.Second, Interval: 100 * time.Millisecond},
		StopTimeout: 2 * time.Second, Deployer: "wine-test",
	}
}

// run runs the Windows agent to completion and parses its event lines.
func (s *wineSite) run(spec agent.Spec, env ...string) agentRun {
	s.t.Helper()
	enc, err := spec.Encode()
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := s.w.Run(ctx, s.agent, []string{spec.Op, "--spec-b64", enc}, winetest.RunOptions{Env: env})
	if err != nil {
		s.t.Fatal(err)
	}
	r := agentRun{code: res.ExitCode, stderr: string(res.Stderr)}
	for _, line := range strings.Split(strings.TrimSpace(strings.ReplaceAll(string(res.Stdout), "\r\n", "\n")), "\n") {
		if line == "" {
			continue
		}
		var ev agent.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			s.t.Fatalf("the Windows agent printed a line that is not a JSON event: %q", line)
		}
		r.events = append(r.events, ev)
		if ev.Event == "result" {
			r.result = ev.Result
		}
	}
	return r
}

type wineHealth struct {
	Version string `json:"version"`
	PID     int    `json:"pid"`
}

func (s *wineSite) health() wineHealth {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", s.port))
	if err != nil {
		return wineHealth{}
	}
	defer resp.Body.Close()
	var h wineHealth
	json.NewDecoder(resp.Body).Decode(&h)
	return h
}

func (s *wineSite) state() agent.State {
	s.t.Helper()
	b, err := os.ReadFile(s.linux("state.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	var st agent.State
	if err := json.Unmarshal(b, &st); err != nil {
		s.t.Fatalf("state.json does not parse: %v", err)
	}
	return st
}

func (s *wineSite) release(id string) *agent.Release {
	s.t.Helper()
	for _, r := range s.state().Releases {
		if r.ID == id {
			r := r
			return &r
		}
	}
	s.t.Fatalf("state.json has no release %q", id)
	return nil
}

// checkCurrent checks what can be observed of the `current` junction from
// Linux. Wine 8 has no reparse points (FSCTL_SET_REPARSE_POINT answers
// "not supported"), so the agent must leave no `current` at all rather
// than a stale one, and no current.tmp; a Wine that has junctions shows
// them as symbolic links, which must name the state's current release.
func (s *wineSite) checkCurrent() {
	s.t.Helper()
	st := s.state()
	if _, err := os.Lstat(s.linux("current.tmp")); err == nil {
		s.t.Fatal("current.tmp was left behind")
	}
	fi, err := os.Lstat(s.linux("current"))
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		s.t.Fatal(err)
	}
	target, err := filepath.EvalSymlinks(s.linux("current"))
	if fi.Mode()&os.ModeSymlink == 0 || err != nil || filepath.Base(target) != st.Current {
		s.t.Fatalf("current (%v) resolves to %q, %v; state's current is %s", fi.Mode(), target, err, st.Current)
	}
}

func TestWineDeployRollback(t *testing.T) {
	s := newWineSite(t, `Apps\Billing`)
	// A shared env file: a hard link into each release, no symbolic-link
	// privilege needed.
	os.MkdirAll(s.linux("shared"), 0o755)
	os.WriteFile(s.linux("shared", "app.env"), []byte("APP_GREETING=hello\r\n"), 0o644)
	withEnv := func(sp agent.Spec) agent.Spec { sp.EnvFile = "app.env"; return sp }

	sha1 := newSHA(t)
	t0 := time.Now()
	r := s.run(withEnv(s.spec("apply", sha1)))
	if r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}
	t.Logf("first deploy under Wine: %s (%s; this binary's Wine setup: %+v)", time.Since(t0).Round(time.Millisecond), s.w.Version, s.w.Timings)
	// The agent has exited; the app it started serves on.
	if h := s.health(); h.Version != sha1 {
		t.Fatalf("health after the agent exited: %+v, want version %s", h, sha1)
	}
	st := s.state()
	rel1 := st.Current
	for _, f := range []string{"testapp.exe", "hello.txt", "REVISION", "app.env"} {
		if _, err := os.Stat(s.linux("releases", rel1, f)); err != nil {
			t.Fatalf("release lacks %s: %v", f, err)
		}
	}
	a, _ := os.Stat(s.linux("shared", "app.env"))
	b, _ := os.Stat(s.linux("releases", rel1, "app.env"))
	if !os.SameFile(a, b) {
		t.Fatal("the env file was copied, not hard-linked, on the same volume")
	}
	s.checkCurrent()

	// A second release: the old app is stopped (and its port free) before
	// the new one starts, which would otherwise fail to listen.
	old := s.health()
	sha2 := newSHA(t)
	r2 := s.run(withEnv(s.spec("apply", sha2)))
	if r2.code != 0 {
		t.Fatalf("second deploy: %s", r2)
	}
	// The first deploy gave its lock back: Wine cannot remove a
	// directory tree with Go's RemoveAll, which left every lock behind
	// for the next deploy to take over as "stale".
	for _, w := range r2.result.Warnings {
		if strings.Contains(w, "lock") {
			t.Fatalf("the first deploy left its lock behind: %q", w)
		}
	}
	if h := s.health(); h.Version != sha2 || h.PID == old.PID {
		t.Fatalf("health %+v after the second deploy", h)
	}
	rel2 := s.state().Current
	log2 := readFile(s.linux("shared", "logs", "app-"+rel2+".log"))
	if !strings.Contains(log2, "listening on 127.0.0.1") || strings.Contains(log2, "listen:") {
		t.Fatalf("the new release did not get the port at once:\n%s", log2)
	}
	s.checkCurrent()

	// A broken release: the app exits at start. Rolled back, exit 3, the
	// previous release answers again.
	sha3 := newSHA(t)
	bad := withEnv(s.spec("apply", sha3))
	bad.Vars = map[string]string{"PORT": fmt.Sprint(s.port), "TESTAPP_FAIL": "exit"}
	r = s.run(bad)
	if r.code != 3 || r.result == nil || r.result.Outcome != agent.OutcomeRolledBack {
		t.Fatalf("broken deploy: want exit 3: %s", r)
	}
	if h := s.health(); h.Version != sha2 {
		t.Fatalf("after the rollback: %+v, want %s", h, sha2)
	}
	st = s.state()
	if st.Current != rel2 || s.release(st.Previous).Status != agent.StatusBad {
		t.Fatalf("state after rollback: current %s previous %s", st.Current, st.Previous)
	}
	if !strings.Contains(strings.Join(r.result.LogTail, "\n"), "failing at start") {
		t.Fatalf("the result must carry the failed app's log tail: %q", r.result.LogTail)
	}
	s.checkCurrent()

	// An explicit rollback to the first release.
	if r := s.run(withEnv(s.spec("rollback", ""))); r.code != 0 || s.health().Version != sha1 {
		t.Fatalf("rollback: %s (health %+v)", r, s.health())
	}
	s.checkCurrent()
	// A shared directory needs a junction (or the symbolic-link
	// privilege); Wine 8 has neither, and the deploy must then fail
	// before anything serving is touched, not copy the data. A Wine with
	// junctions must show the release's directory linked to shared\.
	os.MkdirAll(s.linux("shared", "uploads"), 0o755)
	os.WriteFile(s.linux("shared", "uploads", "kept.txt"), []byte("user data"), 0o644)
	withDir := withEnv(s.spec("apply", newSHA(t)))
	withDir.Shared = []string{"uploads"}
	switch r := s.run(withDir); r.code {
	case 0:
		if b, err := os.ReadFile(s.linux("releases", s.state().Current, "uploads", "kept.txt")); err != nil || string(b) != "user data" {
			t.Fatalf("uploads is not linked to shared: %q, %v", b, err)
		}
		if err := os.WriteFile(s.linux("releases", s.state().Current, "uploads", "new.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.linux("shared", "uploads", "new.txt")); err != nil {
			t.Fatal("a file written through the release's uploads is not in shared: it was copied")
		}
		t.Log("this Wine links directories")
	case 1:
		if !strings.Contains(r.result.Error, "cannot link directory") || s.health().Version != sha1 {
			t.Fatalf("a directory that cannot be linked: %s (health %+v)", r, s.health())
		}
		t.Logf("no directory link on %s: %s", s.w.Version, r.result.Error)
	default:
		t.Fatalf("shared directory: %s", r)
	}
	if r := s.run(s.spec("status", "")); r.code != 0 || r.result == nil || r.result.Status == nil || !r.result.Status.Running || !r.result.Status.Healthy {
		t.Fatalf("status: %s", r)
	}
}

// TestWineKillAtEveryStep kills the Windows agent (TerminateProcess, as
// os.Process.Kill does) at every step boundary and checks the invariant:
// state.json parses, current names a complete release, old or new, and
// the next deploy takes over the dead deploy's lock and succeeds.
func TestWineKillAtEveryStep(t *testing.T) {
	points := []string{
		"after:lock", "after:fetch", "after:venv", "after:install", "after:link",
		"after:stop", "switch:state-saved", "after:switch", "after:start", "after:health", "after:prune",
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			// A target of its own: a kill leaves it as no other point
			// should find it.
			s := newWineSite(t, `Apps\Billing`)
			if r := s.run(s.spec("apply", newSHA(t))); r.code != 0 {
				t.Fatalf("initial deploy: %s", r)
			}
			before := s.state().Current
			sha := newSHA(t)
			r := s.run(s.spec("apply", sha), "FERRY_AGENT_FAULT=kill:"+point)
			if r.result != nil || r.code == 0 {
				t.Fatalf("the agent was not killed at %s: %s", point, r)
			}
			t.Logf("killed at %s: exit %d after %d events", point, r.code, len(r.events))
			// Killed at once: nothing was printed after the point.
			if len(r.events) == 0 {
				t.Fatalf("no events before the kill at %s: %s", point, r)
			}
			last := r.events[len(r.events)-1]
			step, _ := strings.CutPrefix(point, "after:")
			if point == "switch:state-saved" {
				if last.Step != "switch" || last.Status != "start" {
					t.Fatalf("last event %+v, want the switch's start", last)
				}
			} else if string(last.Step) != step || last.Status == "start" {
				t.Fatalf("last event %+v, want the end of %s", last, step)
			}
			st := s.state()
			if st.Current == "" {
				t.Fatal("no current release after the kill")
			}
			if _, err := os.Stat(s.linux("releases", st.Current, "REVISION")); err != nil {
				t.Fatalf("current %s is not a complete release: %v", st.Current, err)
			}
			if st.Current != before && s.release(st.Current).SHA != sha {
				t.Fatalf("current moved to %s, neither the old nor the new release", st.Current)
			}
			switch point {
			case "after:lock", "after:fetch", "after:venv", "after:install", "after:link":
				if got := s.health().Version; got != s.release(before).SHA {
					t.Fatalf("the old release must still serve after a kill at %s: %q", point, got)
				}
			case "after:health", "after:prune":
				if got := s.health().Version; got != sha {
					t.Fatalf("the new release must serve after a kill at %s: %q", point, got)
				}
			}
			next := s.run(s.spec("apply", sha))
			if next.code != 0 {
				t.Fatalf("deploy after a kill at %s: %s", point, next)
			}
			if next.result == nil || len(next.result.Warnings) == 0 {
				t.Fatalf("taking over the dead deploy's lock must warn: %s", next)
			}
			if got := s.health().Version; got != sha {
				t.Fatalf("after recovery the app answers %q, want %s", got, sha)
			}
			entries, _ := os.ReadDir(s.linux("releases"))
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".partial") || strings.HasPrefix(e.Name(), ".download-") {
					t.Fatalf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// TestWineLongRoot deploys under a root longer than MAX_PATH: the release
// directories, logs and the app's working directory are all past 260
// characters.
func TestWineLongRoot(t *testing.T) {
	rel := `Apps\Billing`
	for len(rel) < 270 {
		rel += `\deployment-root-segment-0123456789`
	}
	s := newWineSite(t, rel)
	if len(s.root) <= 260 {
		t.Fatalf("root is only %d characters", len(s.root))
	}
	sha1, sha2 := newSHA(t), newSHA(t)
	for _, sha := range []string{sha1, sha2} {
		if r := s.run(s.spec("apply", sha)); r.code != 0 {
			t.Fatalf("deploy under a %d-character root: %s", len(s.root), r)
		}
		if got := s.health().Version; got != sha {
			t.Fatalf("health %q, want %s", got, sha)
		}
	}
	if r := s.run(s.spec("rollback", "")); r.code != 0 || s.health().Version != sha1 {
		t.Fatalf("rollback under a long root: %s", r)
	}
	s.checkCurrent()
}

// TestWineHostileSpecs: the Windows agent refuses what the Linux one
// refuses, and the Windows path forms on top, with exit 2 and without
// creating anything.
func TestWineHostileSpecs(t *testing.T) {
	s := newWineSite(t, `Apps\Billing`)
	cases := map[string]func(*agent.Spec){
		"root with ..":               func(sp *agent.Spec) { sp.Root = `C:\..\Windows` },
		"root climbing on D:":        func(sp *agent.Spec) { sp.Root = s.drive + `\Apps\..\..\Windows` },
		"UNC root":                   func(sp *agent.Spec) { sp.Root = `\\server\share\billing` },
		"UNC root, slashes":          func(sp *agent.Spec) { sp.Root = `//server/share/billing` },
		"verbatim root":              func(sp *agent.Spec) { sp.Root = `\\?\` + s.drive + `\Apps\Billing` },
		"device root":                func(sp *agent.Spec) { sp.Root = `\\.\PhysicalDrive0` },
		"drive-relative root":        func(sp *agent.Spec) { sp.Root = s.drive + `Apps\Billing` },
		"relative root":              func(sp *agent.Spec) { sp.Root = `Apps\Billing` },
		"root-relative root":         func(sp *agent.Spec) { sp.Root = `\Apps\Billing` },
		"unix root on windows":       func(sp *agent.Spec) { sp.Root = `/Apps/Billing` },
		"device name in root":        func(sp *agent.Spec) { sp.Root = s.drive + `\Apps\CON\Billing` },
		"device name with ext":       func(sp *agent.Spec) { sp.Root = s.drive + `\Apps\nul.txt` },
		"trailing dot":               func(sp *agent.Spec) { sp.Root = s.drive + `\Apps\Billing.` },
		"dotdot with space":          func(sp *agent.Spec) { sp.Root = s.drive + `\Apps\.. \Windows` },
		"stream in root":             func(sp *agent.Spec) { sp.Root = s.drive + `\Apps\Billing:evil` },
		"requirements escape":        func(sp *agent.Spec) { sp.Requirements = `..\..\x` },
		"requirements drive":         func(sp *agent.Spec) { sp.Requirements = `C:x` },
		"env file device":            func(sp *agent.Spec) { sp.EnvFile = `AUX` },
		"shared escapes":             func(sp *agent.Spec) { sp.Shared = []string{`data\..\..\..\Windows`} },
		"archive on a share":         func(sp *agent.Spec) { sp.Source.URL = "file://server/share/billing.tgz" },
		"archive drive as host":      func(sp *agent.Spec) { sp.Source.URL = "file://" + s.drive + "/artifacts/billing.tgz" },
		"start program leading dash": func(sp *agent.Spec) { sp.Start = []string{"-c"} },
	}
	for name, mut := range cases {
		sp := s.spec("apply", newSHA(t))
		mut(&sp)
		r := s.run(sp)
		if r.code != 2 || r.result == nil || r.result.Outcome != agent.OutcomeInvalid {
			t.Errorf("%s: want exit 2 (invalid): %s", name, r)
		} else {
			t.Logf("%-26s %s", name, r.result.Error)
		}
		if entries, _ := os.ReadDir(s.dir); len(entries) != 1 { // artifacts/ only
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("%s: something was created on the drive: %v", name, names)
		}
	}
	// The good spec on the same drive works, so the refusals above are
	// about the paths alone.
	if r := s.run(s.spec("apply", newSHA(t))); r.code != 0 {
		t.Fatalf("the baseline spec: %s", r)
	}
}

// wine runs a Windows program of the prefix (sc.exe, reg.exe, taskkill.exe)
// and returns its output.
func (s *wineSite) wine(prog string, args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.w.Run(ctx, prog, args, winetest.RunOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.ReplaceAll(string(res.Stdout)+string(res.Stderr), "\r\n", "\n")
}

// serviceState is the STATE line of `sc query`: Wine's own service
// manager, read with its own tool.
func (s *wineSite) serviceState(name string) string {
	out := s.wine("sc.exe", "query", name)
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "STATE" {
			f := strings.Fields(v)
			return f[len(f)-1]
		}
	}
	return "NONE: " + out
}

// removeServiceAtEnd stops and deletes the service when the test ends:
// the service manager is the Wine prefix's, shared by the binary's tests.
func (s *wineSite) removeServiceAtEnd(name string) {
	s.t.Cleanup(func() {
		s.wine("sc.exe", "stop", name)
		eventually(30*time.Second, func() bool { return s.serviceState(name) != "RUNNING" })
		s.wine("sc.exe", "delete", name)
	})
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	if !eventually(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// TestWineServiceMode deploys with run_as: service under Wine's service
// manager (services.exe): the agent copies itself into bin\, creates the
// service with svc/mgr, the service manager starts `ferry-agent service
// run`, which runs the release and is stopped and restarted onto each new
// release. The root has a space, so the service's command line quoting
// matters.
func TestWineServiceMode(t *testing.T) {
	s := newWineSite(t, `Apps\Billing Prod`)
	name := "ferry-billing-test"
	svc := func(sp agent.Spec) agent.Spec { sp.RunAs = agent.RunService; return sp }
	s.removeServiceAtEnd(name)
	hostLog := func() string { return readFile(s.linux("shared", "logs", "service-"+name+".log")) }

	sha1 := newSHA(t)
	t0 := time.Now()
	r := s.run(svc(s.spec("apply", sha1)))
	if r.code != 0 {
		t.Fatalf("first deploy in service mode: %s\nhost log:\n%s", r, hostLog())
	}
	if r.result == nil {
		t.Fatalf("no result: %s", r)
	}
	t.Logf("first service-mode deploy under Wine: %s; warnings: %q", time.Since(t0).Round(time.Millisecond), r.result.Warnings)
	// The agent is gone; the service hosts the app.
	h1 := s.health()
	if h1.Version != sha1 {
		t.Fatalf("health %+v, want %s", h1, sha1)
	}
	if st := s.serviceState(name); st != "RUNNING" {
		t.Fatalf("sc query: %s", st)
	}
	bins, _ := filepath.Glob(s.linux("bin", "ferry-agent-*.exe"))
	if len(bins) != 1 {
		t.Fatalf("bin holds %v, want one agent copy", bins)
	}
	winBin := s.root + `\bin\` + filepath.Base(bins[0])
	reg := s.wine("reg.exe", "query", `HKLM\System\CurrentControlSet\Services\`+name)
	wantImage := `"` + winBin + `" service run --root "` + s.root + `" --name ` + name + ` --environment test`
	for _, want := range []string{"ImagePath    REG_SZ    " + wantImage, "Start    REG_DWORD    0x2", "DisplayName    REG_SZ    ferry billing (test)", "ObjectName    REG_SZ    LocalSystem"} {
		if !strings.Contains(reg, want) {
			t.Errorf("service registry lacks %q:\n%s", want, reg)
		}
	}
	if !strings.Contains(hostLog(), "service host "+name+" for "+s.root+" (pid") {
		t.Fatalf("the host did not run as a service (with the root as one argument):\n%s", hostLog())
	}

	// A second release: the service is stopped (the host stops the app)
	// and started again onto it.
	sha2 := newSHA(t)
	if r := s.run(svc(s.spec("apply", sha2))); r.code != 0 {
		t.Fatalf("second deploy: %s\nhost log:\n%s", r, hostLog())
	}
	h2 := s.health()
	if h2.Version != sha2 || h2.PID == h1.PID {
		t.Fatalf("health %+v after the second deploy", h2)
	}
	if log := hostLog(); !strings.Contains(log, "stopping release "+s.release(s.state().Previous).ID) || !strings.Contains(log, "service manager asks to stop") {
		t.Fatalf("host log:\n%s", log)
	}

	// A broken release crash-loops in the host; the agent sees its app die,
	// rolls back, exit 3.
	bad := svc(s.spec("apply", newSHA(t)))
	bad.Vars = map[string]string{"PORT": fmt.Sprint(s.port), "TESTAPP_FAIL": "exit"}
	if r := s.run(bad); r.code != 3 {
		t.Fatalf("broken deploy: want exit 3: %s\nhost log:\n%s", r, hostLog())
	}
	waitFor(t, "the previous release to answer", 20*time.Second, func() bool { return s.health().Version == sha2 })
	if st := s.serviceState(name); st != "RUNNING" {
		t.Fatalf("sc query after the rollback: %s", st)
	}

	// The app dies: the host restarts it.
	before := s.health()
	s.wine("taskkill.exe", "/f", "/pid", fmt.Sprint(before.PID))
	waitFor(t, "the host to restart the killed app", 30*time.Second, func() bool {
		h := s.health()
		return h.Version == sha2 && h.PID != before.PID
	})
	if !strings.Contains(hostLog(), "restarting in") {
		t.Fatalf("host log:\n%s", hostLog())
	}

	// Stopping the service (Wine's sc.exe, not the agent) stops the app
	// and clears the PID file; starting it again runs state.json's current
	// release, as a boot would.
	s.wine("sc.exe", "stop", name)
	waitFor(t, "the service to stop", 30*time.Second, func() bool { return s.serviceState(name) == "STOPPED" })
	if h := s.health(); h.PID != 0 {
		t.Fatalf("the app still answers after the service stopped: %+v", h)
	}
	if _, err := os.Stat(s.linux("run", "app.pid")); err == nil {
		t.Fatal("the PID file outlived the stopped service")
	}
	s.wine("sc.exe", "start", name)
	waitFor(t, "the restarted service to serve", 30*time.Second, func() bool { return s.health().Version == sha2 })

	// Status sees the hosted app; a rollback goes through the service too.
	if r := s.run(svc(s.spec("status", ""))); r.code != 0 || r.result == nil || r.result.Status == nil || !r.result.Status.Running || !r.result.Status.Healthy {
		t.Fatalf("status: %s", r)
	}
	if r := s.run(svc(s.spec("rollback", ""))); r.code != 0 || s.health().Version != sha1 {
		t.Fatalf("rollback in service mode: %s (health %+v)\nhost log:\n%s", r, s.health(), hostLog())
	}
	t.Logf("host log:\n%s", hostLog())
}

// TestWineServiceModeKill kills the agent around the switch in service
// mode: whatever the service was left doing, the next deploy succeeds and
// the service ends up hosting the new release.
func TestWineServiceModeKill(t *testing.T) {
	name := "ferry-billing-test"
	svc := func(sp agent.Spec) agent.Spec { sp.RunAs = agent.RunService; return sp }
	for _, point := range []string{"after:stop", "switch:state-saved", "after:start", "after:health"} {
		t.Run(point, func(t *testing.T) {
			// A target (and service) of its own: a kill leaves it as no
			// other point should find it.
			s := newWineSite(t, `Apps\Billing`)
			s.removeServiceAtEnd(name)
			if r := s.run(svc(s.spec("apply", newSHA(t)))); r.code != 0 {
				t.Fatalf("initial deploy: %s", r)
			}
			before := s.state().Current
			sha := newSHA(t)
			if r := s.run(svc(s.spec("apply", sha)), "FERRY_AGENT_FAULT=kill:"+point); r.result != nil {
				t.Fatalf("not killed at %s: %s", point, r)
			}
			st := s.state()
			if _, err := os.Stat(s.linux("releases", st.Current, "REVISION")); err != nil || (st.Current != before && s.release(st.Current).SHA != sha) {
				t.Fatalf("current %s after a kill at %s: %v", st.Current, point, err)
			}
			if point == "after:health" {
				if got := s.health().Version; got != sha {
					t.Fatalf("the service must host the new release after a kill at %s: %q", point, got)
				}
			}
			if r := s.run(svc(s.spec("apply", sha))); r.code != 0 {
				t.Fatalf("deploy after a kill at %s: %s", point, r)
			}
			if got := s.health().Version; got != sha || s.serviceState(name) != "RUNNING" {
				t.Fatalf("after recovery: %q, service %s", got, s.serviceState(name))
			}
		})
	}
}
