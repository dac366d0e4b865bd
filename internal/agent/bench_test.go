package agent_test

import (
	"context"
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
	"github.com/ferryhq/ferry/internal/testing/benchpair"
)

// BenchmarkDeploy measures a deploy of examples/hello with unchanged
// requirements (the venv is reused), per step, against a floor measured in
// the same run: stop the running app, export the commit and start the app
// until its first healthy answer, without ferry. The ratio metric is
// ferry's time over the floor's.
//
// Two interpreters: "python3" as found on PATH (on a developer machine
// often a version manager's shim, which costs ~100 ms per call), and the
// real executable it resolves to, as servers name it.
func BenchmarkDeploy(b *testing.B) {
	for _, tool := range []string{"git", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed", tool)
		}
	}
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		b.Fatal(err)
	}
	real := strings.TrimSpace(string(out))
	b.Run("python=PATH", func(b *testing.B) { benchDeploy(b, "python3") })
	b.Run("python=executable", func(b *testing.B) { benchDeploy(b, real) })
}

func benchDeploy(b *testing.B, python string) {
	base := b.TempDir()
	repo := filepath.Join(base, "repo")
	os.MkdirAll(repo, 0o755)
	for _, f := range []string{"app.py", "requirements.txt"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "hello", f))
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(repo, f), data, 0o644)
	}
	commit := benchpair.NewRepo(b, repo).Commit
	port := func() int {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()
	healthURL := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	root := filepath.Join(base, "srv")
	spec := func(sha string) agent.Spec {
		return agent.Spec{Protocol: agent.Protocol, Op: "apply", Root: root, App: "hello", Environment: "bench", SHA: sha,
			Source: agent.Source{Kind: "git", URL: repo}, Start: []string{"python", "app.py"}, Python: python,
			Requirements: "requirements.txt", Vars: map[string]string{"PORT": fmt.Sprint(port)},
			Health:      agent.HealthSpec{URL: healthURL, Status: 200, VersionField: "version", Deadline: 30 * time.Second, Interval: 500 * time.Millisecond},
			StopTimeout: 5 * time.Second, KeepReleases: 3, KeepFailed: 1}
	}
	ctx := context.Background()
	if res := agent.Run(ctx, spec(commit()), agent.Options{}); res.ExitCode != 0 {
		b.Fatalf("warm-up deploy: %s", res.Error)
	}

	// Interleaved, so both see the same machine load: each iteration
	// deploys with ferry, then by hand. Each stops the other's app as part
	// of its timed work (ferry through its PID file, the floor directly).
	pidFile := filepath.Join(root, "run", "app.pid")
	venvPython := ""
	entries, _ := os.ReadDir(filepath.Join(root, "venvs"))
	for _, e := range entries {
		venvPython = filepath.Join(root, "venvs", e.Name(), "bin", "python")
	}
	client := &http.Client{Timeout: time.Second}
	steps := map[string]time.Duration{}
	var ferry, floor time.Duration
	var running proc.Handle
	for i := 0; i < b.N; i++ {
		if running.PID != 0 {
			proc.WritePIDFile(pidFile, running)
		}
		sha := commit()
		start := time.Now()
		res := agent.Run(ctx, spec(sha), agent.Options{})
		ferry += time.Since(start)
		if res.ExitCode != 0 || !res.VenvReused {
			b.Fatalf("deploy: %s (venv reused %v)", res.Error, res.VenvReused)
		}
		for _, s := range res.Steps {
			steps[string(s.Name)] += time.Duration(s.DurationMS) * time.Millisecond
		}

		sha = commit()
		dir := filepath.Join(base, "floor", sha)
		start = time.Now()
		if h, err := proc.ReadPIDFile(pidFile); err == nil {
			proc.Stop(context.Background(), h, 5*time.Second)
		}
		os.MkdirAll(dir, 0o755)
		archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repo, sha, dir)
		if out, err := archive.CombinedOutput(); err != nil {
			b.Fatalf("export: %v %s", err, out)
		}
		h, err := proc.Start(proc.Spec{Argv: []string{venvPython, "app.py"}, Dir: dir, Env: append(os.Environ(), "PORT="+fmt.Sprint(port), "FERRY_SHA="+sha), LogPath: filepath.Join(dir, "app.log")})
		if err != nil {
			b.Fatal(err)
		}
		running = h
		for {
			resp, err := client.Get(healthURL)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(body), sha) {
					break
				}
			}
			if time.Since(start) > 30*time.Second {
				b.Fatal("floor app never became healthy")
			}
			time.Sleep(2 * time.Millisecond)
		}
		floor += time.Since(start)
	}
	proc.Stop(context.Background(), running, 5*time.Second)

	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(per(ferry), "ferry-ms/deploy")
	b.ReportMetric(per(floor), "floor-ms/deploy")
	b.ReportMetric(float64(ferry)/float64(floor), "ratio")
	for name, d := range steps {
		b.ReportMetric(per(d), name+"-ms")
	}
}

// BenchmarkPrune is a deploy (the ferry-agent binary, to its exit) whose
// prune step removes a release of 10,000 files, against the same deploy
// with nothing to prune, in interleaved pairs: ratio near 1 means
// pruning costs the deploy nothing (its files go after the result, in a
// detached process). prune-ms and plain-ms are the medians.
func BenchmarkPrune(b *testing.B) {
	s := newSite(b)
	deploy := func(keep int) time.Duration {
		spec := s.spec("apply", s.change(false))
		spec.KeepReleases, spec.KeepFailed = keep, 1
		var r agentRun
		d := benchpair.Time(func() { r = runAgent(b, spec) })
		if r.code != 0 {
			b.Fatalf("deploy: %s", r)
		}
		return d
	}
	for i := 0; i < 3; i++ {
		deploy(100)
	}
	// heavy fills the oldest release kept with 10,000 files: the next
	// deploy with keep_releases 1 prunes it (with any newer ones beyond
	// current, previous and one more, which are small).
	heavy := func() {
		st := s.state()
		var oldest *agent.Release
		for i := range st.Releases {
			r := &st.Releases[i]
			if !r.Pruned && r.ID != st.Current && r.ID != st.Previous && (oldest == nil || r.Created.Before(oldest.Created)) {
				oldest = r
			}
		}
		if oldest == nil {
			b.Fatal("no release to prune")
		}
		for d := 0; d < 100; d++ {
			dir := filepath.Join(s.root, "releases", oldest.ID, "data", fmt.Sprint(d))
			os.MkdirAll(dir, 0o755)
			for f := 0; f < 100; f++ {
				os.WriteFile(filepath.Join(dir, fmt.Sprint(f)), []byte("x"), 0o644)
			}
		}
	}
	// Each deploy starts with trash/ empty: one started while the
	// previous deploy's remover still runs shares the machine with it.
	plain := func() time.Duration {
		waitUntil(b, "the last trash to go", func() bool { return !agent.TrashPending(s.root) })
		return deploy(100)
	}
	pruning := func() time.Duration {
		heavy()
		waitUntil(b, "the last trash to go", func() bool { return !agent.TrashPending(s.root) })
		return deploy(1)
	}
	base, subj := benchpair.Pairs(b, plain, pruning)
	benchpair.Report(b, "plain", base, "prune", subj)
}
