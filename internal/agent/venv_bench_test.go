package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/benchpair"
	"github.com/ferryhq/ferry/internal/testing/testwheel"
)

// BenchmarkVenvStep measures the venv and install steps of a deploy whose
// wheelhouse ships inside the release (pip.find_links: [wheels]), reused
// (a code-only change) against rebuilt (the requirements changed), in the
// same run and interleaved, so both see the same load. The ratio is
// rebuilt over reused: what keying a relative find_links entry as written
// saves on every code-only deploy (before, every deploy rebuilt).
func BenchmarkVenvStep(b *testing.B) {
	for _, tool := range []string{"git", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not installed", tool)
		}
	}
	base := b.TempDir()
	repo := filepath.Join(base, "repo")
	os.MkdirAll(filepath.Join(repo, "wheels"), 0o755)
	for _, w := range []testwheel.Wheel{{Name: "greet", Version: "1.0.0", Requires: []string{"words>=1"}}, {Name: "words", Version: "1.0.0"}} {
		if _, err := w.Write(filepath.Join(repo, "wheels")); err != nil {
			b.Fatal(err)
		}
	}
	r := benchpair.NewRepo(b, repo)
	commit := func(reqs bool) string {
		if reqs {
			os.WriteFile(filepath.Join(repo, "requirements.txt"), []byte(fmt.Sprintf("# build %d\ngreet==1.0.0\n", r.N()+1)), 0o644)
		}
		return r.Commit()
	}
	os.WriteFile(filepath.Join(repo, "app.py"), []byte(appPy), 0o644)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	root := filepath.Join(base, "srv")
	spec := func(sha string) agent.Spec {
		return agent.Spec{Protocol: agent.Protocol, Op: "apply", Root: root, App: "bench", Environment: "bench", SHA: sha,
			Source: agent.Source{Kind: "git", URL: repo}, Start: []string{"python", "app.py"}, Python: "python3",
			Requirements: "requirements.txt", Pip: pipOpts("wheels"), Vars: map[string]string{"PORT": fmt.Sprint(port)},
			Health:      agent.HealthSpec{URL: fmt.Sprintf("http://127.0.0.1:%d/health", port), Status: 200, VersionField: "version", Deadline: 30 * time.Second, Interval: 200 * time.Millisecond},
			StopTimeout: 5 * time.Second, KeepReleases: 2, KeepFailed: 1}
	}
	defer func() {
		if h, err := proc.ReadPIDFile(filepath.Join(root, "run", "app.pid")); err == nil {
			proc.Stop(context.Background(), h, 5*time.Second)
		}
	}()
	venvTime := func(sha string, wantReused bool) time.Duration {
		res := agent.Run(context.Background(), spec(sha), agent.Options{})
		if res.ExitCode != 0 || res.VenvReused != wantReused {
			b.Fatalf("deploy: %s (venv reused %v, want %v)", res.Error, res.VenvReused, wantReused)
		}
		var d time.Duration
		for _, s := range res.Steps {
			if s.Name == agent.StepVenv || s.Name == agent.StepInstall {
				d += time.Duration(s.DurationMS) * time.Millisecond
			}
		}
		return d
	}
	venvTime(commit(true), false) // warm-up: the first venv
	var reused, rebuilt time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reused += venvTime(commit(false), true)
		rebuilt += venvTime(commit(true), false)
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(per(reused), "reused-ms")
	b.ReportMetric(per(rebuilt), "rebuilt-ms")
	if reused > 0 {
		b.ReportMetric(float64(rebuilt)/float64(reused), "ratio")
	}
}
