// Package cli is ferry's command line. Main runs it in-process with
// injected streams and environment; Run takes a Factory, whose
// dependencies (the config loader, the transports, the working directory)
// tests replace, so every command is testable without a subprocess, a
// server or a change of the process's directory. Both return the
// documented exit code.
//
// Every command is built the same way (see deploy.go): an Options struct
// holding the factory's dependencies, the global flags and the command's
// own; NewCmdX(f, runF), which fills the options from the command line
// and calls runF when a test gives one; and runX(opts), which does the
// work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/version"
)

// IO is what a command reads and writes. Results go to Out, progress and
// errors to Err.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// ErrIsTerminal enables colours and live progress on Err.
	ErrIsTerminal bool
	// Getenv reads the environment; tests inject their own. Nil means the
	// process's.
	Getenv func(string) string
}

// Main runs ferry with args (without the program name) in the process's
// working directory, with the transports that reach real servers.
func Main(args []string, streams IO) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return Run(ctx, args, NewFactory(streams))
}

// Run runs ferry with args and the dependencies in f, and returns the
// exit code. With --json, stdout gets exactly one envelope (see
// docs/json.md), whatever happened, usage errors included; errors are
// also printed on stderr for the person watching.
func Run(ctx context.Context, args []string, f *Factory) int {
	run := *f // each run has its own result
	run.result = &resultSlot{out: f.Out}
	// Whatever the run writes is redacted with the secrets it learns
	// (loadProject adds ferry.yml's); the envelope is redacted as JSON.
	run.redact = &redactor{}
	run.Out = redactWriter{w: f.Out, r: run.redact}
	run.Err = redactWriter{w: f.Err, r: run.redact}
	root := NewCmdRoot(&run)
	root.SetArgs(args)
	root.SetIn(run.In)
	root.SetOut(run.Out)
	root.SetErr(run.Err)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && !isReported(err) {
		fail.Format(run.Err, err)
	}
	if cmd == nil {
		cmd = root
	}
	if wantsJSON(cmd, args) && !askedForHelp(cmd) && !isShellCompletion(cmd) && !run.result.printed {
		if werr := writeEnvelope(run.result.out, run.redact, commandName(cmd), err, run.result.value); werr != nil {
			fmt.Fprintf(run.Err, "error: write the --json envelope: %v\n", werr)
		}
	}
	return fail.Code(err)
}

// Globals are the flags every command takes.
type Globals struct {
	// ConfigPath is --config: ferry.yml, relative to the working directory.
	ConfigPath string
	// JSON is --json: the result as one JSON envelope on stdout.
	JSON bool
	// NoColor is --no-color (NO_COLOR is honoured too).
	NoColor bool
}

// addGlobalFlags defines the global flags on fs (the root's persistent
// flags; a test's command of its own).
func addGlobalFlags(fs *pflag.FlagSet) {
	fs.StringP("config", "c", config.FileName, "path to ferry.yml")
	fs.Bool("json", false, "print the result as JSON on stdout")
	fs.Bool("no-color", false, "no colours (NO_COLOR is honoured too)")
}

// globalsOf reads the global flags as cmd parsed them. A command built
// alone (a test's) without them gets the defaults.
func globalsOf(cmd *cobra.Command) Globals {
	g := Globals{ConfigPath: config.FileName}
	if fl := cmd.Flags().Lookup("config"); fl != nil {
		g.ConfigPath = fl.Value.String()
	}
	if fl := cmd.Flags().Lookup("json"); fl != nil {
		g.JSON, _ = strconv.ParseBool(fl.Value.String())
	}
	if fl := cmd.Flags().Lookup("no-color"); fl != nil {
		g.NoColor, _ = strconv.ParseBool(fl.Value.String())
	}
	return g
}

// wantsJSON says whether the envelope was asked for: the parsed flag, or,
// when parsing stopped before reaching it (an unknown flag earlier on the
// line), the word itself before any "--".
func wantsJSON(cmd *cobra.Command, args []string) bool {
	if fl := cmd.Flags().Lookup("json"); fl != nil && fl.Changed {
		on, _ := strconv.ParseBool(fl.Value.String())
		return on
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--json"); ok && (v == "" || v[0] == '=') {
			on, err := strconv.ParseBool(strings.TrimPrefix(v, "="))
			return v == "" || (err == nil && on)
		}
	}
	return false
}

// isShellCompletion: the hidden commands a shell calls to complete a
// command line take that line as their arguments (a --json there is a
// word to complete) and answer in the shell's own protocol.
func isShellCompletion(cmd *cobra.Command) bool {
	return strings.HasPrefix(cmd.Name(), "__complete")
}

// askedForHelp: --help and --version print text, never an envelope.
func askedForHelp(cmd *cobra.Command) bool {
	for _, name := range []string{"help", "version"} {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			return true
		}
	}
	return false
}

// commandName is how the envelope names a command: its path below
// ferry ("deploy"), or "ferry" itself when no command was recognised.
func commandName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// NewCmdRoot is ferry's root command with every command registered.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Ship Python web apps to servers with quality gates, atomic releases and automatic rollback",
		Long: `ferry ships Python web applications to servers (a directory of this machine,
or EC2 instances through AWS Systems Manager) with atomic releases, health
checks and automatic rollback.

Exit codes:
  0  deployed and healthy (or success)
  1  failed, nothing changed: the old release still serves
  2  usage, invalid configuration or input
  3  failed after the switch and rolled back: the old release serves
  4  rollback failed: a person is needed
  5  another deploy holds the lock
  6  refused by policy (a blocking gate, a window, a freeze)`,
		SilenceUsage:               true,
		SilenceErrors:              true,
		Version:                    version.Get().String(),
		Args:                       noSubcommand,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if globalsOf(cmd).JSON {
				// The help is text, and stdout must hold the envelope alone.
				return fail.Usage(errors.New("no command given"), "run ferry --help")
			}
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(usageFlagError)
	// Every command runs this first (none has a hook of its own).
	root.PersistentPreRunE = refuseJSONForText
	addGlobalFlags(root.PersistentFlags())
	root.AddCommand(
		NewCmdDeploy(f, nil),
		NewCmdRollback(f, nil),
		NewCmdStatus(f, nil),
		NewCmdReleases(f, nil),
		NewCmdUnlock(f, nil),
		NewCmdRepair(f, nil),
		NewCmdValidate(f, nil),
		NewCmdSchema(f, nil),
		NewCmdCheck(f, nil),
		NewCmdSandbox(f, nil),
		NewCmdDemo(f, nil),
		NewCmdHistory(f, nil),
		NewCmdMetrics(f, nil),
		NewCmdAudit(f),
		NewCmdDashboard(f, nil),
		NewCmdReport(f, nil),
		NewCmdWindows(f, nil),
		NewCmdVersion(f, nil),
		NewCmdInit(f, nil),
		NewCmdLint(f, nil),
		NewCmdIAM(f, nil),
		NewCmdDoctor(f, nil),
		NewCmdExec(f, nil),
		NewCmdWheelhouse(f, nil),
	)
	// cobra's completion command prints its help when given no shell,
	// without running any hook: with --json that must be an error too.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" && !c.Runnable() {
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
	return root
}

// refuseJSONForText refuses --json for the commands whose output is
// text by nature (cobra's help and completion, and the completion
// helpers shells call): with --json, stdout holds one envelope and
// nothing else, so they answer with a usage error instead.
func refuseJSONForText(cmd *cobra.Command, _ []string) error {
	if !globalsOf(cmd).JSON {
		return nil
	}
	for c := cmd; c != nil && c.HasParent(); c = c.Parent() {
		switch name := c.Name(); {
		case name == "help", name == "completion", strings.HasPrefix(name, "__complete"):
			return fail.Usage(fmt.Errorf("ferry %s prints text, not JSON", name), "leave out --json")
		}
	}
	return nil
}

// usageFlagError makes cobra's flag errors usage errors (exit 2) that say
// where to look, so no error text is ever matched.
func usageFlagError(cmd *cobra.Command, err error) error {
	return fail.Usage(err, "run "+cmd.CommandPath()+" --help")
}

// usageArgs makes cobra's argument checks usage errors (exit 2) that say
// where to look, so no error text is ever matched.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return fail.Usage(err, "run "+cmd.CommandPath()+" --help")
		}
		return nil
	}
}

// noSubcommand refuses a word that names no command, suggesting the
// command that was probably meant.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var hints []string
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hints = append(hints, fmt.Sprintf("did you mean %s?", strings.Join(s, " or ")))
	}
	hints = append(hints, "run "+cmd.CommandPath()+" --help")
	return fail.Usage(fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()), hints...)
}

// reportedError is a failure already explained on the terminal (the
// summary printed each server's failure; a gate report; a status): the
// frame prints no "error:" line for it, while --json still carries its
// message, hints and problems.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// reported marks err as already explained on the terminal.
func reported(err error) error {
	if err == nil {
		return nil
	}
	return &reportedError{err: err}
}

func isReported(err error) bool {
	var r *reportedError
	return errors.As(err, &r)
}
