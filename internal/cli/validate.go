package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/config"
)

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a ferry.yml and report every problem with its line and column",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := a.configPath
			if len(args) == 1 {
				path = args[0]
			}
			c, err := config.Load(path)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return json.NewEncoder(a.io.Out).Encode(map[string]any{"file": c.File, "valid": true, "app": c.App, "environments": c.EnvironmentNames()})
			}
			fmt.Fprintf(a.io.Out, "%s is valid: app %s, environments %v\n", c.File, c.App, c.EnvironmentNames())
			return nil
		},
	}
}

func (a *app) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of ferry.yml, for editors",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := json.MarshalIndent(config.Schema(), "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.io.Out, "%s\n", b)
			return err
		},
	}
}
