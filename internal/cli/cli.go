// Package cli is ferry's command line. Main runs it in-process with
// injected streams and environment, so every command is testable without
// a subprocess, and returns the documented exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// Version is ferry's version, set at build time.
var Version = "dev"

// IO is what a command reads and writes. Results go to Out, progress and
// errors to Err.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// ErrIsTerminal enables colours and live progress on Err.
	ErrIsTerminal bool
	// Getenv reads the environment; tests inject their own.
	Getenv func(string) string
}

// app holds what every command shares.
type app struct {
	io         IO
	configPath string
	jsonOut    bool
	noColor    bool
}

func (a *app) getenv(k string) string {
	if a.io.Getenv == nil {
		return os.Getenv(k)
	}
	return a.io.Getenv(k)
}

// color reports whether to colour stderr: a terminal, and NO_COLOR unset.
func (a *app) color() bool {
	return a.io.ErrIsTerminal && !a.noColor && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"
}

func (a *app) inActions() bool { return a.getenv("GITHUB_ACTIONS") == "true" }

// Main runs ferry with args (without the program name).
func Main(args []string, streams IO) int {
	a := &app{io: streams}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitcode.OK
	}
	if !errors.Is(err, errReported) {
		fail.Format(a.io.Err, err)
	}
	return fail.Code(err)
}

// errReported marks a failure already explained on the terminal (a
// failing gate report, an unhealthy status): only its exit code is left.
var errReported = errors.New("reported")

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

func (a *app) rootCmd() *cobra.Command {
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
		Version:                    Version,
		Args:                       noSubcommand,
		SuggestionsMinimumDistance: 2,
		RunE:                       func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fail.Usage(err, "run "+cmd.CommandPath()+" --help")
	})
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", config.FileName, "path to ferry.yml")
	root.PersistentFlags().BoolVar(&a.jsonOut, "json", false, "print the result as JSON on stdout")
	root.PersistentFlags().BoolVar(&a.noColor, "no-color", false, "no colours (NO_COLOR is honoured too)")
	root.AddCommand(a.deployCmd(), a.rollbackCmd(), a.statusCmd(), a.releasesCmd(), a.unlockCmd(), a.validateCmd(), a.schemaCmd())
	for _, c := range extraCommands {
		root.AddCommand(c(a))
	}
	return root
}

// extraCommands lets other files of this package register commands.
var extraCommands []func(*app) *cobra.Command

func (a *app) loadConfig() (*config.Config, error) {
	return config.Load(a.configPath)
}
