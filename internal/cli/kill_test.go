//go:build unix

package cli_test

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ferryhq/ferry/internal/record"
)

var (
	ferryOnce sync.Once
	ferryBin  string
	ferryErr  error
)

// ferryBinary is ferry built from this checkout, for tests that need a
// real process to signal.
func ferryBinary(t *testing.T) string {
	t.Helper()
	ferryOnce.Do(func() {
		var dir string
		if dir, ferryErr = os.MkdirTemp("", "ferry-cli-bin"); ferryErr != nil {
			return
		}
		ferryBin = filepath.Join(dir, "ferry")
		mod, _ := filepath.Abs(filepath.Join("..", ".."))
		cmd := exec.Command("go", "build", "-o", ferryBin, "./cmd/ferry")
		cmd.Dir = mod
		if out, err := cmd.CombinedOutput(); err != nil {
			ferryErr = err
			t.Logf("%s", out)
		}
	})
	if ferryErr != nil {
		t.Fatalf("build ferry: %v", ferryErr)
	}
	return ferryBin
}

// startFerry runs the ferry binary in f's repository and returns it with
// a channel that gets each line it writes on stderr.
func (f *fixture) startFerry(env []string, args ...string) (*exec.Cmd, <-chan string, *strings.Builder) {
	f.t.Helper()
	cmd := exec.Command(ferryBinary(f.t), args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	lines := make(chan string, 1000)
	all := &strings.Builder{}
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(io.TeeReader(stderr, all))
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines, all
}

// waitFor reads lines until one contains want; the stream's end fails.
func waitFor(t *testing.T, lines <-chan string, want string, all *strings.Builder) {
	t.Helper()
	for l := range lines {
		if strings.Contains(l, want) {
			return
		}
	}
	t.Fatalf("ferry ended without writing %q:\n%s", want, all.String())
}

// A deploy killed mid-way leaves a record of the attempt. SIGKILL, which
// nothing can catch, while the agent holds the new release between start
// and health: the begin record stays, alone; history shows the attempt as
// unfinished, audit verify tells it from tampering (exit 0), and the next
// deploy (taking over the dead one's lock) is recorded after it. SIGTERM,
// which ferry treats as Ctrl-C, during a health check that would never
// pass: the end record is written all the same, outcome interrupted.
func TestKilledDeployLeavesARecord(t *testing.T) {
	f := newFixture(t)
	index := "FERRY_INDEX=" + filepath.Join(t.TempDir(), "index.db")
	if r := f.ferry("deploy", "test"); r.code != 0 {
		t.Fatalf("first deploy: %s", r)
	}

	// SIGKILL between start and health.
	f.write("app.py", appPy+"# second\n")
	f.commit("second")
	cmd, lines, all := f.startFerry([]string{index, "FERRY_AGENT_FAULT=hang:before:health"}, "deploy", "test")
	waitFor(t, lines, "✓ start", all)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	recs := records(t, f.root)
	if len(recs) != 3 || recs[2].Phase != record.PhaseBegin || recs[2].Change.SHA != f.git("rev-parse", "HEAD") {
		t.Fatalf("after SIGKILL: %d records, the last %+v; want the first deploy's two and the killed one's begin", len(recs), recs[len(recs)-1])
	}
	env := map[string]string{"FERRY_INDEX": strings.TrimPrefix(index, "FERRY_INDEX=")}
	r := ferryIn(t, f.dir, env, "history", "test", "--json")
	var h struct {
		Attempts []struct{ Outcome string } `json:"attempts"`
	}
	if err := json.Unmarshal(checkEnvelope(t, "history", r), &h); err != nil || len(h.Attempts) != 2 || h.Attempts[0].Outcome != "unfinished" {
		t.Errorf("history after SIGKILL: %v %s", err, r.out)
	}
	if r := ferryIn(t, f.dir, env, "audit", "verify", "test"); r.code != 0 || !strings.Contains(r.out, "intact") {
		t.Errorf("audit verify after SIGKILL: %s", r)
	}
	r = ferryIn(t, f.dir, env, "deploy", "test")
	if r.code != 0 {
		t.Fatalf("the deploy after the killed one: %s", r)
	}
	r = ferryIn(t, f.dir, env, "audit", "verify", "test")
	if r.code != 0 || !strings.Contains(r.out, "record 3: unfinished:") || !strings.Contains(r.out, "not tampering") {
		t.Errorf("audit verify after the next deploy: %s", r)
	}

	// SIGTERM during a health check that never passes.
	f.setMode("unhealthy")
	cmd, lines, all = f.startFerry([]string{index}, "deploy", "test")
	waitFor(t, lines, "✓ start", all)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	err := cmd.Wait()
	if err == nil {
		t.Errorf("ferry exited 0 after SIGTERM:\n%s", all.String())
	}
	e := lastEnd(t, f.root)
	if e.Outcome != record.OutcomeInterrupted || e.Change.SHA != f.git("rev-parse", "HEAD") || e.ExitCode == 0 || len(e.Target.Instances) != 1 {
		t.Errorf("after SIGTERM the end record is %s (exit %d, %d instances), want interrupted:\n%s", e.Outcome, e.ExitCode, len(e.Target.Instances), all.String())
	}
}
