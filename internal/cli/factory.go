package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agentbin"
	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/gitrepo"
	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// Factory is what commands are made from: the streams, the environment
// and the directory ferry was given, and the dependencies a test (or
// ferry demo, for its inner commands) replaces.
type Factory struct {
	IO
	// WorkDir is the directory relative paths on the command line are
	// read from (--config, FILE, --dir, --junit): the process's in Main, a
	// test's own elsewhere, so nothing needs to change directory.
	WorkDir string
	// CI is what the CI system says about this run, read once from Getenv.
	CI gitrepo.CI
	// LoadConfig reads ferry.yml at path, relative to dir.
	LoadConfig func(dir, path string) (*config.Config, error)
	// Transport makes the transport that reaches an environment's servers.
	Transport TransportFactory
	// Records opens an environment's audit record chain and AWS makes an
	// ssm environment's other AWS clients (records.go).
	Records RecordsFactory
	AWS     AWSFactory
	// Notify tunes notification delivery (tests: fast retries, their SMTP
	// server's CA); Getenv and Logf are the command's.
	Notify notify.Options

	result *resultSlot
	// redact hides the run's secrets in all it writes (redact.go).
	redact *redactor
}

// TransportFactory chooses and builds the transport of one environment.
type TransportFactory func(Target) (transport.Transport, error)

// Target is one environment resolved for its transport.
type Target struct {
	// Name is the environment's name and Env its ferry.yml section.
	Name string
	Env  *config.Environment
	// Root is the deployment root: absolute for local targets.
	Root string
	// RepoDir is the repository's top and AppDir the app's directory in
	// it (what an archive holds); empty outside a repository.
	RepoDir, AppDir string
	// Getenv and WorkDir are the command's (FERRY_AGENT_FAULT,
	// FERRY_AGENT_DIR, finding ferry's checkout).
	Getenv  func(string) string
	WorkDir string
	// Log gets progress a person should see (an agent being built).
	Log io.Writer
	// One asks for one server of the environment, not all (ferry exec
	// without --all).
	One bool
}

// NewFactory is the factory ferry runs with: streams as given (the
// process's environment when streams.Getenv is nil), the process's
// working directory, ferry.yml from disk, local and ssm transports.
func NewFactory(streams IO) *Factory {
	if streams.Getenv == nil {
		streams.Getenv = os.Getenv
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "." // relative paths then resolve as the OS does
	}
	return &Factory{
		IO: streams, WorkDir: wd, CI: gitrepo.CIFromEnv(streams.Getenv),
		LoadConfig: config.LoadIn, Transport: DefaultTransport(nil),
		Records: DefaultRecords, AWS: DefaultAWS(nil),
	}
}

// DefaultTransport builds the transport an environment's target: names:
// the in-process agent for local, SSM Run Command for ssm. A non-nil
// awsConfig replaces the AWS SDK's own configuration loading (ferry demo
// points its inner commands at its sandbox that way).
func DefaultTransport(awsConfig *aws.Config) TransportFactory {
	return func(t Target) (transport.Transport, error) {
		switch t.Env.Target {
		case config.TargetLocal:
			return transport.Local{Fault: t.Getenv("FERRY_AGENT_FAULT")}, nil
		case config.TargetSSM:
			s := t.Env.SSM
			return ssm.New(ssm.Options{
				Region: s.Region, Profile: s.Profile, InstanceIDs: s.InstanceIDs, Tags: s.Tags,
				Bucket: s.Bucket, Prefix: s.Prefix, OutputPrefix: s.OutputPrefix, ExecutionTimeout: s.ExecutionTimeout,
				MaxConcurrency: s.Rollout.MaxConcurrency, MaxErrors: s.Rollout.MaxErrors,
				FleetRollback: s.FleetRollback == nil || *s.FleetRollback,
				Document:      s.Document, Source: s.Source, Repository: s.Repository,
				RepoDir: t.RepoDir, AppDir: t.AppDir,
				Agents:    agentResolver(t),
				One:       t.One,
				AWSConfig: awsConfig,
			})
		}
		return nil, fail.New(exitcode.Usage, fmt.Errorf("environment %s has target %q, which this build does not include", t.Name, t.Env.Target), "use target: local or ssm")
	}
}

// agentResolver finds the agents for an environment's servers the way
// docs/install.md says: FERRY_AGENT_DIR (the command's environment),
// beside the executable, the working directory's checkout, or built for
// a go-installed ferry's module version.
func agentResolver(t Target) *agentbin.Resolver {
	r := agentbin.New(t.Getenv)
	r.Getwd = func() (string, error) { return t.WorkDir, nil }
	r.Log = t.Log
	return r
}

// Common is what every command's options hold: the factory's streams
// and dependencies, and the global flags.
type Common struct {
	*Factory
	Globals

	// one is Target.One for the command's transport.
	one bool

	ctx context.Context
}

// common is the options part every NewCmdX starts from.
func common(f *Factory) Common { return Common{Factory: f} }

// bind records what cobra parsed: the global flags and the context.
func (c *Common) bind(cmd *cobra.Command) {
	c.Globals = globalsOf(cmd)
	c.ctx = cmd.Context()
}

// runE is every command's RunE: it records what cobra parsed, hands the
// arguments to args (when the command takes any), then calls runF when a
// test gave one, else run.
func runE[O any](opts *O, c *Common, args func([]string), runF, run func(*O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, a []string) error {
		c.bind(cmd)
		if args != nil {
			args(a)
		}
		if runF != nil {
			return runF(opts)
		}
		return run(opts)
	}
}

// context is the command's: Ctrl-C ends it.
func (c Common) context() context.Context {
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// painter colours stderr only on a terminal, without NO_COLOR or
// --no-color, and not for TERM=dumb.
func (c Common) painter() ansi.Painter {
	return ansi.Painter{On: c.ErrIsTerminal && !c.NoColor && c.Getenv("NO_COLOR") == "" && c.Getenv("TERM") != "dumb"}
}

// debugf writes a debug line on stderr when FERRY_DEBUG is set.
func (c Common) debugf(format string, args ...any) {
	if c.Getenv("FERRY_DEBUG") != "" {
		fmt.Fprintf(c.Err, "debug: "+format+"\n", args...)
	}
}

// abs resolves a path from the command line against the working directory.
func (c Common) abs(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(c.WorkDir, path)
}

// setResult is the command's result, printed in the --json envelope.
func (c Common) setResult(v any) {
	if c.result != nil {
		c.result.value = v
	}
}

// envelopeNow prints the --json envelope of a success now rather than
// when the command ends; the frame then prints none.
func (c Common) envelopeNow(command string, result any) error {
	if c.result != nil {
		c.result.printed = true
	}
	out := c.Out
	if c.result != nil {
		out = c.result.out
	}
	return writeEnvelope(out, c.redact, command, nil, result)
}

// project is a loaded ferry.yml and the directory that holds it.
type project struct {
	cfg *config.Config
	dir string // absolute
}

// loadProject reads the --config file (or path, when given).
func (c Common) loadProject(path string) (*project, error) {
	if path == "" {
		path = c.ConfigPath
	}
	if path == "" {
		path = config.FileName
	}
	cfg, err := c.LoadConfig(c.WorkDir, path)
	if err != nil {
		return nil, err
	}
	c.redact.addConfig(cfg)
	dir, err := filepath.Abs(filepath.Dir(c.abs(path)))
	if err != nil {
		return nil, err
	}
	return &project{cfg: cfg, dir: dir}, nil
}
