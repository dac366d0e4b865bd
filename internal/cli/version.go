package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/version"
)

// VersionOptions are ferry version's.
type VersionOptions struct {
	Common
}

// NewCmdVersion is ferry version; runF as for NewCmdDeploy.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "version",
		Short: "Print ferry's version, commit and build date",
		Long: `Print the version, commit and commit date ferry was built from (a
release's, the module version of go install, or a checkout's), the Go
version and the platform. ferry --version prints the same line.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: runE(opts, &opts.Common, nil, runF, runVersion),
	}
}

// versionLine is what ferry version and ferry --version print.
func versionLine() string { return "ferry version " + version.Get().String() }

func runVersion(opts *VersionOptions) error {
	opts.setResult(version.Get())
	if !opts.JSON {
		fmt.Fprintln(opts.Out, versionLine())
	}
	return nil
}
