package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/examples/hello"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/text"
)

// DemoOptions are ferry demo's.
type DemoOptions struct {
	Common
	// Dir holds the sandbox and the demo repository (--dir); empty makes
	// a temporary one, removed at the end unless Keep.
	Dir string
	// Keep leaves the sandbox and the apps running until Ctrl-C, and the
	// files in place (--keep).
	Keep bool
}

// demoResult is ferry demo's --json result.
type demoResult struct {
	Root       string `json:"root"`
	Repository string `json:"repository"`
	Config     string `json:"config"`
	GoodSHA    string `json:"good_sha"`
	BrokenSHA  string `json:"broken_sha"`
	// BrokenExitCode is the broken deploy's exit code: 3, rolled back.
	BrokenExitCode int            `json:"broken_exit_code"`
	Instances      []demoInstance `json:"instances"`
}

type demoInstance struct {
	ID     string `json:"id"`
	Port   int    `json:"port"`
	URL    string `json:"url"`
	Serves string `json:"serves"`
}

// NewCmdDemo is ferry demo; runF as for NewCmdDeploy.
func NewCmdDemo(f *Factory, runF func(*DemoOptions) error) *cobra.Command {
	opts := &DemoOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy examples/hello to three sandboxed servers through SSM, break it, watch it roll back (no AWS needed)",
		Long: `ferry demo is the first command to run. It starts a sandbox (an SSM Run
Command emulator and an S3 server on 127.0.0.1 with three Linux
instances), deploys examples/hello to all three exactly as it would to
EC2, then deploys a broken commit, which fails its health check on the
first instance, rolls back there, and stops the rollout. It ends with the
status of each instance. It runs from any directory (the example app is
part of ferry) and removes what it wrote when it ends; --keep leaves the
sandbox and the apps running until Ctrl-C, and the files in place. With
--json the story goes to stderr and the outcome to stdout.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(opts, &opts.Common, nil, runF, runDemo),
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "directory for the sandbox and the demo repository (default: a temporary directory, removed at the end); one that exists is kept")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the sandbox and the apps running until Ctrl-C")
	return cmd
}

const demoInstances = 3

// runDemo tells the demo's story on stdout (stderr with --json).
func runDemo(opts *DemoOptions) error {
	ctx := opts.context()
	w := opts.Out
	if opts.JSON {
		w = opts.Err
	}
	if _, err := exec.LookPath("git"); err != nil {
		return fail.New(exitcode.Failed, errors.New("ferry demo needs git"), "install git")
	}
	// The demo's files go to --dir, or to a temporary directory that is
	// removed at the end (unless --keep): a venv per instance is tens of
	// megabytes, which nobody asked to keep.
	dir, cleanup, err := demoDir(opts.abs(opts.Dir), opts.Keep)
	if err != nil {
		return err
	}
	defer func() {
		if where := cleanup(); where != "" {
			fmt.Fprintf(w, "Demo files kept in %s\n", where)
		}
	}()
	p := opts.painter()
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(w, "\n%s %s\n", p.Paint(ansi.Bold, fmt.Sprintf("[%d/5]", n)), fmt.Sprintf(format, args...))
	}

	step(1, "Starting a sandbox: an SSM Run Command emulator and an S3 server on 127.0.0.1, with %d Linux instances.", demoInstances)
	sb, err := startSandbox(dir, demoInstances, 0, "")
	if err != nil {
		return err
	}
	// Deferred after the directory's cleanup, so it runs first: the apps
	// stop before their files go.
	defer closeSandbox(sb)
	fmt.Fprintf(w, "      SSM %s, S3 %s, bucket %s; files in %s\n", sb.SSMEndpoint, sb.S3Endpoint, sb.Bucket, sb.Root)
	ports, err := sb.GivePorts("hello")
	if err != nil {
		return err
	}
	for _, in := range sb.Instances {
		fmt.Fprintf(w, "      %s  HOME=%s  PORT=%d (in ~/hello/shared/.env)\n", in.ID, in.Dir, ports[in.ID])
	}

	step(2, "Committing examples/hello to a git repository with a ferry.yml for the sandbox.")
	repo := filepath.Join(sb.Root, "repo")
	cfgPath := filepath.Join(repo, "ferry.yml")
	good, err := demoRepo(ctx, repo, "# ferry.yml written by ferry demo.\n"+sb.FerryYML("hello", sandbox.Rollout{}))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "      %s at %s (config: %s)\n", repo, text.Short(good), cfgPath)

	// The inner commands are ordinary ferry commands with a factory of
	// their own: it points the ssm transport at the sandbox, and their
	// output is part of the story.
	inner := *opts.Factory
	awsCfg := sb.AWSConfig()
	inner.Transport = DefaultTransport(&awsCfg)
	inner.AWS = DefaultAWS(&awsCfg)
	inner.Out = w
	ferry := func(args ...string) int {
		args = append(args, "-c", cfgPath)
		fmt.Fprintf(w, "      $ ferry %s\n", strings.Join(args, " "))
		if opts.NoColor {
			args = append(args, "--no-color")
		}
		return Run(ctx, args, &inner)
	}

	step(3, "Deploying %s to the %d instances through SSM: one SendCommand, which SSM runs on one instance at a time (max_concurrency 1). Each instance downloads ferry-agent and the commit's archive from S3, builds a venv and starts the app. (The demo skips quality gates: see ferry check.)", text.Short(good), demoInstances)
	if code := ferry("deploy", "sandbox", "--skip-gates"); code != 0 {
		return fail.New(code, fmt.Errorf("the first deploy failed (exit %d)", code), "see the messages above; ferry demo --keep keeps the sandbox and its files")
	}
	for _, in := range sb.Instances {
		fmt.Fprintf(w, "      %s serves %s at http://127.0.0.1:%d/\n", in.ID, text.Short(demoVersion(ports[in.ID])), ports[in.ID])
	}

	step(4, "Committing a broken change (the app exits at start) and deploying it. The first instance fails its health check and goes back to %s by itself; SSM then stops the rollout (max_errors 0), so the other instances are never touched.", text.Short(good))
	broken, err := demoBreak(ctx, repo)
	if err != nil {
		return err
	}
	code := ferry("deploy", "sandbox", "--skip-gates")
	if code != exitcode.RolledBack {
		return fmt.Errorf("the broken deploy ended with exit %d, want %d (rolled back)", code, exitcode.RolledBack)
	}
	fmt.Fprintf(w, "      exit %d: failed after the switch and rolled back; the old release serves.\n", code)

	step(5, "Status of each instance.")
	if code := ferry("status", "sandbox"); code != 0 {
		return fail.New(code, fmt.Errorf("status reports a problem (exit %d)", code), "see above")
	}
	fmt.Fprintln(w)
	res := demoResult{Root: sb.Root, Repository: repo, Config: cfgPath, GoodSHA: good, BrokenSHA: broken, BrokenExitCode: code}
	healthy := 0
	for _, in := range sb.Instances {
		port := ports[in.ID]
		v := demoVersion(port)
		mark := p.Paint(ansi.Red, "✗")
		if v == good {
			mark = p.Paint(ansi.Green, "✓")
			healthy++
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		res.Instances = append(res.Instances, demoInstance{ID: in.ID, Port: port, URL: url, Serves: v})
		fmt.Fprintf(w, "%s %s  %s  serves %s\n", mark, in.ID, url, text.Short(v))
	}
	opts.setResult(res)
	if healthy != demoInstances {
		return fmt.Errorf("%d of %d instances serve %s", healthy, demoInstances, text.Short(good))
	}
	fmt.Fprintf(w, "\nAll %d instances serve %s.\n", demoInstances, text.Short(good))
	if opts.Keep {
		fmt.Fprintf(w, "The sandbox and the apps keep running; Ctrl-C stops them. Demo files: %s\n", sb.Root)
		printSandbox(w, sb)
		<-ctx.Done()
	}
	return nil
}

// demoGit runs git in the demo repository as the demo's author.
func demoGit(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=ferry demo", "-c", "user.email=demo@ferry.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// demoDir is the directory the demo writes to, and what to do at the
// end: a directory the demo made (a temporary one, or a --dir that did
// not exist) is removed unless keep; a --dir that existed is the
// person's and stays. cleanup returns the directory when it stays.
func demoDir(dir string, keep bool) (string, func() string, error) {
	made := false
	if dir == "" {
		d, err := os.MkdirTemp("", "ferry-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("demo directory: %w", err)
		}
		dir, made = d, true
	} else if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("demo directory: %w", err)
		}
		made = true
	}
	return dir, func() string {
		if keep || !made {
			return dir
		}
		if err := os.RemoveAll(dir); err != nil {
			return dir
		}
		return ""
	}, nil
}

// demoRepo commits examples/hello's app (embedded in ferry) with
// ferryYML to a new repository and returns the commit.
func demoRepo(ctx context.Context, repo, ferryYML string) (string, error) {
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"app.py", "requirements.txt"} {
		b, err := hello.Files.ReadFile(name)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(repo, name), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "ferry.yml"), []byte(ferryYML), 0o644); err != nil {
		return "", err
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "hello"}} {
		if _, err := demoGit(ctx, repo, args...); err != nil {
			return "", err
		}
	}
	return demoGit(ctx, repo, "rev-parse", "HEAD")
}

// demoBreak commits an app that exits at start and returns the commit.
func demoBreak(ctx context.Context, repo string) (string, error) {
	app, err := os.ReadFile(filepath.Join(repo, "app.py"))
	if err != nil {
		return "", err
	}
	broken := "raise SystemExit(\"demo: this commit is broken on purpose\")\n" + string(app)
	if err := os.WriteFile(filepath.Join(repo, "app.py"), []byte(broken), 0o644); err != nil {
		return "", err
	}
	if _, err := demoGit(ctx, repo, "commit", "-q", "-am", "break the app on purpose"); err != nil {
		return "", err
	}
	return demoGit(ctx, repo, "rev-parse", "HEAD")
}

// demoVersion asks an instance's app which commit it serves.
func demoVersion(port int) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
	if err != nil {
		return "nothing"
	}
	defer resp.Body.Close()
	var doc struct{ Version string }
	if json.NewDecoder(resp.Body).Decode(&doc) != nil || resp.StatusCode != http.StatusOK {
		return "nothing healthy"
	}
	return doc.Version
}
