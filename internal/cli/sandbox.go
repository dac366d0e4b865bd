package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/sandbox"
)

// SandboxOptions are ferry sandbox's.
type SandboxOptions struct {
	Common
	// Instances is how many Linux instances to create (--instances).
	Instances int
	// Port is the SSM endpoint's port, S3 and STS the next two; 0 picks
	// free ones (--port).
	Port int
	// Dir holds the sandbox's files (--dir); empty makes a temporary one.
	Dir string
}

// sandboxResult is ferry sandbox's --json result, printed once the
// sandbox serves (the command then runs until interrupted).
type sandboxResult struct {
	SSMEndpoint     string            `json:"ssm_endpoint"`
	S3Endpoint      string            `json:"s3_endpoint"`
	STSEndpoint     string            `json:"sts_endpoint"`
	Region          string            `json:"region"`
	Bucket          string            `json:"bucket"`
	Root            string            `json:"root"`
	ConfigFile      string            `json:"config_file"`
	CredentialsFile string            `json:"credentials_file"`
	Instances       []sandboxInstance `json:"instances"`
	// Env points AWS clients at the sandbox (and nowhere else).
	Env map[string]string `json:"env"`
	// Environment is a ferry.yml environments: section for the sandbox.
	Environment string `json:"environment"`
}

type sandboxInstance struct {
	ID  string `json:"id"`
	Dir string `json:"dir"`
}

// NewCmdSandbox is ferry sandbox; runF as for NewCmdDeploy.
func NewCmdSandbox(f *Factory, runF func(*SandboxOptions) error) *cobra.Command {
	opts := &SandboxOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local SSM Run Command emulator and S3 server with Linux instances, to deploy to without AWS",
		Long: `Start, on 127.0.0.1 only, an emulator of AWS Systems Manager Run Command
with --instances Linux "instances" (directories of this machine, each its
own HOME) and an S3 server with a bucket, and print the environment that
points ferry (aws-sdk-go-v2), boto3 1.28 or later and the AWS CLI (v2
2.13 or later, v1 1.29 or later) at them, with a ferry.yml environment to
paste. Older AWS CLIs, Debian 12's 2.9 among them, ignore that
environment and would call real AWS: give them --endpoint-url, as
printed. Deploys run for real: ferry-agent is downloaded from the bucket
and run by the emulator on each instance. Ctrl-C stops the sandbox and
the apps its instances started. With --json the same is printed as one
JSON envelope once the sandbox serves.`,
		Example: `  ferry sandbox --instances 2
  # in another terminal, after pasting the printed exports and environment:
  ferry deploy sandbox`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(opts, &opts.Common, nil, runF, runSandbox),
	}
	cmd.Flags().IntVar(&opts.Instances, "instances", 3, "how many Linux instances")
	cmd.Flags().IntVar(&opts.Port, "port", 0, "SSM endpoint port (S3 and STS take the next two); 0 picks free ports")
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "directory for instances, AWS client files and command output (default: a new temporary directory, kept)")
	return cmd
}

// runSandbox starts the sandbox, says how to reach it, and serves until
// the context ends.
func runSandbox(opts *SandboxOptions) error {
	if opts.Instances < 1 || opts.Instances > 200 {
		return fail.New(exitcode.Usage, fmt.Errorf("--instances %d is out of range", opts.Instances), "give 1 to 200")
	}
	sb, err := startSandbox(opts.abs(opts.Dir), opts.Instances, opts.Port, "ferry-sandbox-")
	if err != nil {
		return err
	}
	defer closeSandbox(sb)
	if opts.JSON {
		// The frame prints the envelope when the command ends, which for
		// a server is too late: print it now, and only now.
		if err := opts.envelopeNow("sandbox", newSandboxResult(sb)); err != nil {
			return err
		}
	} else {
		printSandbox(opts.Out, sb)
	}
	fmt.Fprintln(opts.Err, "Sandbox running; Ctrl-C stops it.")
	<-opts.context().Done()
	fmt.Fprintln(opts.Err, "Stopping the sandbox and the apps it started.")
	return nil
}

func newSandboxResult(sb *sandbox.Sandbox) sandboxResult {
	r := sandboxResult{SSMEndpoint: sb.SSMEndpoint, S3Endpoint: sb.S3Endpoint, STSEndpoint: sb.STSEndpoint, Region: sb.Region, Bucket: sb.Bucket, Root: sb.Root,
		ConfigFile: sb.ConfigFile, CredentialsFile: sb.CredentialsFile, Env: map[string]string{}, Environment: sb.Environment("hello", sandbox.Rollout{})}
	for _, in := range sb.Instances {
		r.Instances = append(r.Instances, sandboxInstance{ID: in.ID, Dir: in.Dir})
	}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		r.Env[k] = v
	}
	return r
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
		opts.SSMPort, opts.S3Port, opts.STSPort = port, port+1, port+2
	}
	sb, err := sandbox.Start(opts)
	if err != nil {
		return nil, fail.New(exitcode.Failed, fmt.Errorf("start sandbox: %w", err), "choose other ports with --port, or leave it out to pick free ones")
	}
	return sb, nil
}

// closeSandbox stops the apps the instances started, then the servers.
func closeSandbox(sb *sandbox.Sandbox) {
	sb.StopApps()
	sb.Close()
}

// printSandbox writes the environment and a ferry.yml environment that
// reach sb.
func printSandbox(w io.Writer, sb *sandbox.Sandbox) {
	fmt.Fprintf(w, "# ferry sandbox: SSM Run Command at %s, S3 at %s, bucket %s, STS at %s\n", sb.SSMEndpoint, sb.S3Endpoint, sb.Bucket, sb.STSEndpoint)
	fmt.Fprintf(w, "# %d Linux instances under %s (each is its own HOME)\n", len(sb.Instances), filepath.Join(sb.Root, "instances"))
	fmt.Fprint(w, `# Point ferry at the sandbox, and nowhere else. The same variables (and the
# services section of the config file) point these clients at it too:
#   aws-sdk-go-v2 (ferry itself), boto3 1.28 or later,
#   the AWS CLI v2 2.13 or later and v1 1.29 or later.
`)
	fmt.Fprintln(w, "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL")
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(w, "export %s=%s\n", k, shellQuote(v))
	}
	fmt.Fprintf(w, `
# Older clients ignore AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_S3 and the
# config file's endpoints, and would call real AWS instead: among them
# the AWS CLI v2 before 2.13, such as Debian 12's 2.9. Give them the
# endpoint on every call:
#   aws --endpoint-url %s ssm describe-instance-information
#   aws --endpoint-url %s s3 ls s3://%s
#   aws --endpoint-url %s sts get-caller-identity
`, sb.SSMEndpoint, sb.S3Endpoint, sb.Bucket, sb.STSEndpoint)
	fmt.Fprint(w, `
# An environment for ferry.yml. root ~/APP is per instance, since each
# instance has its own HOME; give each app its own port in
# <instance>/APP/shared/.env (PORT=...) with env_file: .env and
# health.url: http://127.0.0.1:${PORT}/health.
`+sb.Environment("hello", sandbox.Rollout{}))
}

// shellQuote quotes v for a POSIX shell when it needs it.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
