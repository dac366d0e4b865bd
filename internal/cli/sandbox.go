package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/sandbox"
)

func init() { extraCommands = append(extraCommands, (*app).sandboxCmd) }

type sandboxOpts struct {
	instances int
	port      int
	dir       string
}

func (a *app) sandboxCmd() *cobra.Command {
	var o sandboxOpts
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local SSM Run Command emulator and S3 server with Linux instances, to deploy to without AWS",
		Long: `Start, on 127.0.0.1 only, an emulator of AWS Systems Manager Run Command
with --instances Linux "instances" (directories of this machine, each its
own HOME) and an S3 server with a bucket, and print the environment that
points ferry, the AWS CLI or boto3 at them, with a ferry.yml environment
to paste. Deploys run for real: ferry-agent is downloaded from the bucket
and run by the emulator on each instance. Ctrl-C stops the sandbox and
the apps its instances started.`,
		Example: `  ferry sandbox --instances 2
  # in another terminal, after pasting the printed exports and environment:
  ferry deploy sandbox`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.instances < 1 || o.instances > 200 {
				return fail.New(exitcode.Usage, fmt.Errorf("--instances %d is out of range", o.instances), "give 1 to 200")
			}
			sb, err := startSandbox(o.dir, o.instances, o.port, "ferry-sandbox-")
			if err != nil {
				return err
			}
			defer closeSandbox(sb)
			printSandbox(a.io.Out, sb)
			fmt.Fprintln(a.io.Err, "Sandbox running; Ctrl-C stops it.")
			<-cmd.Context().Done()
			fmt.Fprintln(a.io.Err, "Stopping the sandbox and the apps it started.")
			return nil
		},
	}
	cmd.Flags().IntVar(&o.instances, "instances", 3, "how many Linux instances")
	cmd.Flags().IntVar(&o.port, "port", 0, "SSM endpoint port (S3 takes the next one); 0 picks free ports")
	cmd.Flags().StringVar(&o.dir, "dir", "", "directory for instances, AWS client files and command output (default: a new temporary directory, kept)")
	return cmd
}

// startSandbox starts a sandbox whose instances cache ferry-agent inside
// it rather than in /var/cache.
func startSandbox(dir string, instances, port int, tmpPattern string) (*sandbox.Sandbox, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", tmpPattern)
		if err != nil {
			return nil, fmt.Errorf("sandbox directory: %w", err)
		}
		dir = d
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	opts := sandbox.Options{Root: dir, Instances: instances, Env: []string{"FERRY_AGENT_CACHE=" + filepath.Join(dir, "agent-cache")}}
	if port != 0 {
		opts.SSMPort, opts.S3Port = port, port+1
	}
	sb, err := sandbox.Start(opts)
	if err != nil {
		return nil, fail.New(exitcode.Failed, fmt.Errorf("start sandbox: %w", err), "choose other ports with --port, or leave it out to pick free ones")
	}
	return sb, nil
}

// closeSandbox stops the apps the instances started (they run detached and
// would outlive the sandbox), then the servers.
func closeSandbox(sb *sandbox.Sandbox) {
	for _, in := range sb.Instances {
		pids, _ := filepath.Glob(filepath.Join(in.Dir, "*", "run", "app.pid"))
		for _, p := range pids {
			if h, err := proc.ReadPIDFile(p); err == nil && proc.Alive(h) {
				proc.Stop(context.Background(), h, 5*time.Second)
			}
		}
	}
	sb.Close()
}

// printSandbox writes the environment and a ferry.yml environment that
// reach sb.
func printSandbox(w io.Writer, sb *sandbox.Sandbox) {
	fmt.Fprintf(w, "# ferry sandbox: SSM Run Command at %s, S3 at %s, bucket %s\n", sb.SSMEndpoint, sb.S3Endpoint, sb.Bucket)
	fmt.Fprintf(w, "# %d Linux instances under %s (each is its own HOME)\n", len(sb.Instances), filepath.Join(sb.Root, "instances"))
	fmt.Fprintln(w, "# Point ferry (or the AWS CLI, boto3) at the sandbox, and nowhere else:")
	fmt.Fprintln(w, "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL")
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(w, "export %s=%s\n", k, shellQuote(v))
	}
	fmt.Fprint(w, `
# An environment for ferry.yml. root ~/APP is per instance, since each
# instance has its own HOME; give each app its own port in
# <instance>/APP/shared/.env (PORT=...) with env_file: .env and
# health.url: http://127.0.0.1:${PORT}/health.
`+sandboxEnvironment(sb))
}

// sandboxEnvironment is the environments: section that deploys to every
// instance of sb, shared by ferry sandbox's hint and ferry demo's config.
func sandboxEnvironment(sb *sandbox.Sandbox) string {
	var ids []string
	for _, in := range sb.Instances {
		ids = append(ids, in.ID)
	}
	return fmt.Sprintf(`environments:
  sandbox:
    target: ssm
    root: ~/hello
    ssm:
      region: %s
      bucket: %s
      instance_ids: [%s]
      execution_timeout: 10m
      rollout:
        max_concurrency: "1"
        max_errors: "0"
`, sb.Region, sb.Bucket, strings.Join(ids, ", "))
}

// shellQuote quotes v for a POSIX shell when it needs it.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
