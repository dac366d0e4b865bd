package cli_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
	"github.com/ferryhq/ferry/internal/transport"
)

// TestMain lets the test binary be ferry itself: testscript puts a
// `ferry` on the scripts' PATH that runs scriptFerry in this binary.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"ferry": func() { os.Exit(scriptFerry()) }})
}

// scriptFerry is ferry as a script runs it: the process's streams,
// environment and directory, and, when FERRY_FAKE names an outcome, a
// fake transport whose servers (FERRY_FAKE_TARGETS, default one) all end
// with it ("unhealthy": a status whose app does not answer). FERRY_FAKE
// is read here, in test code: ferry itself knows nothing of it.
func scriptFerry() int {
	f := cli.NewFactory(cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	if outcome := os.Getenv("FERRY_FAKE"); outcome != "" {
		fake := answering(outcome, strings.Fields(os.Getenv("FERRY_FAKE_TARGETS"))...)
		if outcome == "unhealthy" {
			fake.Answer = func(_ string, spec agent.Spec) agent.Result { return faketransport.Unhealthy(spec) }
		}
		// exec:N: every server's command exits N; FERRY_FAKE_ONE=1 says
		// the command asked for one server.
		if code, ok := strings.CutPrefix(outcome, "exec:"); ok {
			n, _ := strconv.Atoi(code)
			fake = answeringExec(n)
			fake.Targets = strings.Fields(os.Getenv("FERRY_FAKE_TARGETS"))
		}
		f.Transport = func(t cli.Target) (transport.Transport, error) {
			if t.One && len(fake.Targets) > 1 {
				return &faketransport.Transport{Targets: fake.Targets[:1], Answer: fake.Answer}, nil
			}
			return fake, nil
		}
		f.Records = fakeRecords
		f.AWS = noAWS
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return cli.Run(ctx, os.Args[1:], f)
}

// TestScripts runs the scenarios of testdata/script, one behaviour each.
// Beyond testscript's own commands they have:
//
//	exits CODE PROG ARGS...  runs PROG and requires exit code CODE
//	commit                   commits the work directory (git init first)
func TestScripts(t *testing.T) {
	t.Parallel()
	need(t, "git")
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			// git as a script's author, with nothing from this machine's
			// configuration; no CI unless a script says so.
			for k, v := range map[string]string{
				"GIT_AUTHOR_NAME": "Ada Tester", "GIT_AUTHOR_EMAIL": "ada@example.com",
				"GIT_COMMITTER_NAME": "Ada Tester", "GIT_COMMITTER_EMAIL": "ada@example.com",
				"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": filepath.Join(e.WorkDir, ".gitconfig-none"),
				"GITHUB_ACTIONS": "", "NO_COLOR": "", "FERRY_INDEX": filepath.Join(e.WorkDir, ".ferry-index.db"),
			} {
				e.Setenv(k, v)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":  cmdExits,
			"commit": cmdCommit,
		},
	})
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit code", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

func cmdCommit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: commit")
	}
	git := func(args ...string) {
		if err := ts.Exec("git", append([]string{"-c", "commit.gpgsign=false"}, args...)...); err != nil {
			ts.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
	}
	if _, err := os.Stat(ts.MkAbs(".git")); err != nil {
		git("init", "-q", "-b", "main")
	}
	git("add", "-A")
	git("commit", "-q", "--allow-empty", "-m", "commit")
}
