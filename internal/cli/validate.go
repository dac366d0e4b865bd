package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/config"
)

// ValidateOptions are ferry validate's.
type ValidateOptions struct {
	Common
	// File is the configuration to check; empty means --config.
	File string
}

// validateResult is ferry validate's --json result.
type validateResult struct {
	File         string   `json:"file"`
	Valid        bool     `json:"valid"`
	App          string   `json:"app"`
	Environments []string `json:"environments"`
}

// NewCmdValidate is ferry validate; runF as for NewCmdDeploy.
func NewCmdValidate(f *Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a ferry.yml and report every problem with its line and column",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: runE(opts, &opts.Common, func(args []string) {
			if len(args) == 1 {
				opts.File = args[0]
			}
		}, runF, runValidate),
	}
}

// runValidate loads the file; its problems are the error.
func runValidate(opts *ValidateOptions) error {
	p, err := opts.loadProject(opts.File)
	if err != nil {
		return err
	}
	c := p.cfg
	opts.warnMissingSecrets(c)
	opts.setResult(validateResult{File: c.File, Valid: true, App: c.App, Environments: c.EnvironmentNames()})
	if !opts.JSON {
		fmt.Fprintf(opts.Out, "%s is valid: app %s, environments %v\n", c.File, c.App, c.EnvironmentNames())
	}
	return nil
}

// SchemaOptions are ferry schema's.
type SchemaOptions struct {
	Common
}

// NewCmdSchema is ferry schema; runF as for NewCmdDeploy.
func NewCmdSchema(f *Factory, runF func(*SchemaOptions) error) *cobra.Command {
	opts := &SchemaOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of ferry.yml, for editors",
		Args:  usageArgs(cobra.NoArgs),
		RunE:  runE(opts, &opts.Common, nil, runF, runSchema),
	}
}

// runSchema prints the schema itself (what editors read), or, with
// --json, the envelope with the schema as its result.
func runSchema(opts *SchemaOptions) error {
	s := config.Schema()
	opts.setResult(s)
	if opts.JSON {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.Out, "%s\n", b)
	return err
}
