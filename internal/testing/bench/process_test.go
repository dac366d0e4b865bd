package main

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

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/benchpair"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// BenchmarkStartup runs `ferry --help` and `ferry-agent version`, built
// as a release builds them, against /bin/true in interleaved pairs: the
// ratio is the median start of ferry over the median start of the
// smallest process there is (targets: 10 and 5).
func BenchmarkStartup(b *testing.B) {
	truth := testtool.Need(b, "true")
	ferry := benchpair.Build(b, "./cmd/ferry", "", "")
	agentBin := benchpair.Build(b, "./cmd/ferry-agent", "", "", agentbin.BuildTags...)
	run := func(argv ...string) func() time.Duration {
		return func() time.Duration {
			cmd := exec.Command(argv[0], argv[1:]...)
			return benchpair.Time(func() {
				if err := cmd.Run(); err != nil {
					b.Fatalf("%v: %v", argv, err)
				}
			})
		}
	}
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"ferry-help", []string{ferry, "--help"}},
		{"agent-version", []string{agentBin, "version"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			base, subj := benchpair.Pairs(b, run(truth), run(c.argv...))
			benchpair.Report(b, "true", base, c.name, subj)
		})
	}
}

// BenchmarkAgentSize is not timed: it builds the windows/amd64 agent as
// a release does and reports its gzipped size against the 3 MB budget
// (ratio: size over agentbin.MaxCompressedSize).
func BenchmarkAgentSize(b *testing.B) {
	for i := 0; i < b.N; i++ {
		bin := benchpair.Build(b, "./cmd/ferry-agent", "windows", "amd64", agentbin.BuildTags...)
		n, err := agentbin.CompressedSize(bin)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "gz-bytes")
		b.ReportMetric(float64(n)/agentbin.MaxCompressedSize, "ratio")
		b.ReportMetric(0, "ns/op")
	}
}

// BenchmarkDeployProcess is a whole `ferry deploy --skip-gates` of
// examples/hello to a local target, as a process (start-up, git,
// config, the agent's plan), with unchanged requirements, against the
// physical floor in interleaved pairs: stop the app, export the commit
// (git archive | tar) and start the app until its first healthy answer.
// Two interpreters: python3 as found on PATH (here a pyenv shim, as on
// many servers) and the real executable it resolves to.
func BenchmarkDeployProcess(b *testing.B) {
	testtool.Need(b, "git")
	testtool.Need(b, "python3")
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		b.Fatal(err)
	}
	real := strings.TrimSpace(string(out))
	ferry := benchpair.Build(b, "./cmd/ferry", "", "")
	b.Run("python=PATH", func(b *testing.B) { benchDeployProcess(b, ferry, "python3") })
	b.Run("python=executable", func(b *testing.B) { benchDeployProcess(b, ferry, real) })
}

func benchDeployProcess(b *testing.B, ferry, python string) {
	base := b.TempDir()
	repo := filepath.Join(base, "repo")
	os.MkdirAll(repo, 0o755)
	hello := filepath.Join(benchpair.ModuleRoot(b), "examples", "hello")
	for _, f := range []string{"app.py", "requirements.txt"} {
		data, err := os.ReadFile(filepath.Join(hello, f))
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(filepath.Join(repo, f), data, 0o644)
	}
	port := freePort(b)
	root := filepath.Join(base, "srv")
	healthURL := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	os.WriteFile(filepath.Join(repo, "ferry.yml"), fmt.Appendf(nil, `app: hello
start: python app.py
requirements: requirements.txt
python: %s
env:
  PORT: "%d"
health:
  url: %s
  version_field: version
  deadline: 30s
  interval: 500ms
keep_releases: 3
environments:
  local:
    target: local
    root: %s
`, python, port, healthURL, root), 0o644)
	os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("/srv/\n"), 0o644)
	env := append(os.Environ(), "GIT_AUTHOR_NAME=B", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=B", "GIT_COMMITTER_EMAIL=b@example.com")
	commit := benchpair.NewRepo(b, repo).Commit
	deploy := func() {
		cmd := exec.Command(ferry, "deploy", "local", "--skip-gates")
		cmd.Dir, cmd.Env = repo, env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ferry deploy: %v\n%s", err, out)
		}
	}
	commit()
	deploy() // the venv, made once
	venvs, _ := filepath.Glob(filepath.Join(root, "venvs", "*", "bin", "python"))
	if len(venvs) != 1 {
		b.Fatalf("venvs after the first deploy: %v", venvs)
	}
	pidFile := filepath.Join(root, "run", "app.pid")
	client := &http.Client{Timeout: time.Second}
	var running proc.Handle
	ferryRun := func() time.Duration {
		if running.PID != 0 {
			proc.WritePIDFile(pidFile, running) // ferry stops the floor's app
			running = proc.Handle{}
		}
		commit()
		return benchpair.Time(deploy)
	}
	floorRun := func() time.Duration {
		sha := commit()
		dir := filepath.Join(base, "floor", sha)
		return benchpair.Time(func() {
			if h, err := proc.ReadPIDFile(pidFile); err == nil {
				proc.Stop(context.Background(), h, 5*time.Second)
			}
			if running.PID != 0 {
				proc.Stop(context.Background(), running, 5*time.Second)
			}
			os.MkdirAll(dir, 0o755)
			archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repo, sha, dir)
			if out, err := archive.CombinedOutput(); err != nil {
				b.Fatalf("export: %v %s", err, out)
			}
			h, err := proc.Start(proc.Spec{Argv: []string{venvs[0], "app.py"}, Dir: dir, Env: append(os.Environ(), fmt.Sprintf("PORT=%d", port), "FERRY_SHA="+sha), LogPath: filepath.Join(dir, "app.log")})
			if err != nil {
				b.Fatal(err)
			}
			running = h
			for start := time.Now(); ; time.Sleep(2 * time.Millisecond) {
				resp, err := client.Get(healthURL)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 && strings.Contains(string(body), sha) {
						return
					}
				}
				if time.Since(start) > 30*time.Second {
					b.Fatal("the floor's app never became healthy")
				}
			}
		})
	}
	floor, ferryTime := benchpair.Pairs(b, floorRun, ferryRun)
	if running.PID != 0 {
		proc.Stop(context.Background(), running, 5*time.Second)
	}
	if h, err := proc.ReadPIDFile(pidFile); err == nil {
		proc.Stop(context.Background(), h, 5*time.Second)
	}
	benchpair.Report(b, "floor", floor, "ferry", ferryTime)
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
