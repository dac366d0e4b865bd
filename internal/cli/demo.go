package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

func init() { extraCommands = append(extraCommands, (*app).demoCmd) }

type demoOpts struct {
	dir  string
	keep bool
}

func (a *app) demoCmd() *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy examples/hello to three sandboxed servers through SSM, break it, watch it roll back (no AWS needed)",
		Long: `ferry demo is the first command to run. It starts a sandbox (an SSM Run
Command emulator and an S3 server on 127.0.0.1 with three Linux
instances), deploys examples/hello to all three exactly as it would to
EC2, then deploys a broken commit, which fails its health check on the
first instance, rolls back there, and stops the rollout. It ends with the
status of each instance. Run it from ferry's source checkout.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return a.demo(cmd.Context(), o) },
	}
	cmd.Flags().StringVar(&o.dir, "dir", "", "directory for the sandbox and the demo repository (default: a new temporary directory, kept)")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "keep the sandbox and the apps running until Ctrl-C")
	return cmd
}

const demoInstances = 3

const demoConfig = `# ferry.yml written by ferry demo. Each instance's ~/hello/shared/.env
# holds its own PORT: the instances share this machine.
app: hello
start: python app.py
requirements: requirements.txt
python: python3
pip:
  no_index: true
env_file: .env
health:
  url: http://127.0.0.1:${PORT}/health
  version_field: version
  deadline: 20s
  interval: 200ms
`

func (a *app) demo(ctx context.Context, o demoOpts) error {
	w := a.io.Out
	wd, _ := os.Getwd()
	mod, ok := ssm.FindModule(wd)
	hello := filepath.Join(mod, "examples", "hello")
	if _, err := os.Stat(filepath.Join(hello, "app.py")); !ok || err != nil {
		return fail.New(exitcode.Usage, errors.New("ferry demo deploys examples/hello from ferry's source checkout, and this is not one"),
			"run it from the checkout: go run ./cmd/ferry demo")
	}
	if _, err := exec.LookPath("git"); err != nil {
		return fail.New(exitcode.Failed, errors.New("ferry demo needs git"), "install git")
	}
	p := &progress{color: a.color()}
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(w, "\n%s %s\n", p.paint(bold, fmt.Sprintf("[%d/5]", n)), fmt.Sprintf(format, args...))
	}

	step(1, "Starting a sandbox: an SSM Run Command emulator and an S3 server on 127.0.0.1, with %d Linux instances.", demoInstances)
	sb, err := startSandbox(o.dir, demoInstances, 0, "ferry-demo-")
	if err != nil {
		return err
	}
	defer closeSandbox(sb)
	fmt.Fprintf(w, "      SSM %s, S3 %s, bucket %s; files in %s\n", sb.SSMEndpoint, sb.S3Endpoint, sb.Bucket, sb.Root)
	ports := map[string]int{}
	var ids []string
	for _, in := range sb.Instances {
		port, err := freeLoopbackPort()
		if err != nil {
			return err
		}
		ports[in.ID] = port
		ids = append(ids, in.ID)
		env := filepath.Join(in.Dir, "hello", "shared", ".env")
		if err := os.MkdirAll(filepath.Dir(env), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(env, []byte(fmt.Sprintf("PORT=%d\n", port)), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(w, "      %s  HOME=%s  PORT=%d (in ~/hello/shared/.env)\n", in.ID, in.Dir, port)
	}

	step(2, "Committing examples/hello to a git repository with a ferry.yml for the sandbox.")
	repo := filepath.Join(sb.Root, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"app.py", "requirements.txt"} {
		b, err := os.ReadFile(filepath.Join(hello, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(repo, name), b, 0o644); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(repo, "ferry.yml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig+sandboxEnvironment(sb)), 0o644); err != nil {
		return err
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=ferry demo", "-c", "user.email=demo@ferry.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
		}
		return strings.TrimSpace(string(out)), nil
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "hello"}} {
		if _, err := git(args...); err != nil {
			return err
		}
	}
	good, err := git("rev-parse", "HEAD")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "      %s at %s (config: %s)\n", repo, good[:12], cfgPath)

	// The inner commands are ordinary ferry commands, pointed at the
	// sandbox through their own AWS configuration.
	inner := &app{io: a.io, noColor: a.noColor}
	awsCfg := sb.AWSConfig()
	setAWSOverride(inner, &awsCfg)
	defer setAWSOverride(inner, nil)
	ferry := func(args ...string) int {
		args = append(args, "-c", cfgPath)
		fmt.Fprintf(w, "      $ ferry %s\n", strings.Join(args, " "))
		root := inner.rootCmd()
		root.SetArgs(args)
		root.SetIn(a.io.In)
		root.SetOut(a.io.Out)
		root.SetErr(a.io.Err)
		err := root.ExecuteContext(ctx)
		if err != nil && !errors.Is(err, errReported) {
			fail.Format(inner.io.Err, err)
		}
		return fail.Code(err)
	}

	step(3, "Deploying %s to the %d instances through SSM: one SendCommand, which SSM runs on one instance at a time (max_concurrency 1). Each instance downloads ferry-agent and the commit's archive from S3, builds a venv and starts the app. (The demo skips quality gates: see ferry check.)", good[:12], demoInstances)
	if code := ferry("deploy", "sandbox", "--skip-gates"); code != 0 {
		return fail.New(code, fmt.Errorf("the first deploy failed (exit %d)", code), "see the messages above; the sandbox files are in "+sb.Root)
	}
	for _, id := range ids {
		fmt.Fprintf(w, "      %s serves %s at http://127.0.0.1:%d/\n", id, short(demoVersion(ports[id])), ports[id])
	}

	step(4, "Committing a broken change (the app exits at start) and deploying it. The first instance fails its health check and goes back to %s by itself; SSM then stops the rollout (max_errors 0), so the other instances are never touched.", good[:12])
	app, err := os.ReadFile(filepath.Join(repo, "app.py"))
	if err != nil {
		return err
	}
	broken := "raise SystemExit(\"demo: this commit is broken on purpose\")\n" + string(app)
	if err := os.WriteFile(filepath.Join(repo, "app.py"), []byte(broken), 0o644); err != nil {
		return err
	}
	if _, err := git("commit", "-q", "-am", "break the app on purpose"); err != nil {
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
	healthy := 0
	for _, id := range ids {
		v := demoVersion(ports[id])
		mark := p.paint(red, "✗")
		if v == good {
			mark = p.paint(green, "✓")
			healthy++
		}
		fmt.Fprintf(w, "%s %s  http://127.0.0.1:%d/  serves %s\n", mark, id, ports[id], short(v))
	}
	if healthy != demoInstances {
		return fmt.Errorf("%d of %d instances serve %s", healthy, demoInstances, good[:12])
	}
	fmt.Fprintf(w, "\nAll %d instances serve %s. Demo files: %s\n", demoInstances, good[:12], sb.Root)
	if o.keep {
		fmt.Fprintln(w, "The sandbox and the apps keep running; Ctrl-C stops them.")
		printSandbox(w, sb)
		<-ctx.Done()
	}
	return nil
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

// freeLoopbackPort finds a port for an app below the usual ephemeral range
// (32768 and up), where the kernel hands out client ports: a port picked
// there may be taken by some connection before the app binds it.
func freeLoopbackPort() (int, error) {
	usedPortsMu.Lock()
	defer usedPortsMu.Unlock()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		if usedPorts[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		usedPorts[port] = true
		return port, nil
	}
	return 0, errors.New("find a free port: none free between 20000 and 32000")
}

var (
	usedPortsMu sync.Mutex
	usedPorts   = map[int]bool{}
)
