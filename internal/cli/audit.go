package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/record"
	"github.com/ferryhq/ferry/internal/recordstore"
)

// NewCmdAudit is ferry audit, the group of the record chains' checks.
func NewCmdAudit(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the audit records: ferry audit verify [ENV]",
		Args:  noSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fail.Usage(errors.New("ferry audit needs a subcommand"), "run ferry audit verify [ENV]")
		},
	}
	cmd.AddCommand(NewCmdAuditVerify(f, nil))
	return cmd
}

// AuditVerifyOptions are ferry audit verify's.
type AuditVerifyOptions struct {
	Common
	// Env is the environment; empty means every environment of ferry.yml.
	Env string
}

// NewCmdAuditVerify is ferry audit verify; runF as for NewCmdDeploy.
func NewCmdAuditVerify(f *Factory, runF func(*AuditVerifyOptions) error) *cobra.Command {
	opts := &AuditVerifyOptions{Common: common(f)}
	return &cobra.Command{
		Use:   "verify [ENV]",
		Short: "Verify ENV's record chain (or every environment's): exit 0 intact, 1 tampered",
		Long: `Read every record of ENV (or of every environment of ferry.yml) from where it
is kept and check the chain: each record holds the SHA-256 of the one before
it, so a record edited, removed, inserted or reordered is found and named;
the local index remembers the newest record it saw, so removing the newest
records is found too. An attempt whose writer was killed (a begin record
without an end) is reported as unfinished, which is not tampering.
Exit code 0: intact; 1: tampered (or a chain could not be read).`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: runE(opts, &opts.Common, func(args []string) {
			if len(args) > 0 {
				opts.Env = args[0]
			}
		}, runF, runAuditVerify),
	}
}

// auditResult is ferry audit verify's --json result.
type auditResult struct {
	Intact       bool       `json:"intact"`
	Environments []auditEnv `json:"environments"`
}

type auditEnv struct {
	Environment string           `json:"environment"`
	Location    string           `json:"location"`
	Intact      bool             `json:"intact"`
	Records     int              `json:"records"`
	Head        int64            `json:"head"`
	Problems    []record.Problem `json:"problems"`
	Error       string           `json:"error,omitempty"`
}

// runAuditVerify checks each chain against itself and the index's anchors.
func runAuditVerify(opts *AuditVerifyOptions) error {
	ctx := opts.context()
	chains, err := opts.chains(ctx, opts.Env)
	if err != nil {
		return err
	}
	idx, err := opts.openIndex()
	if err != nil {
		return err
	}
	defer idx.Close()
	res := &auditResult{Intact: true, Environments: []auditEnv{}}
	var errs []error
	p := opts.painter()
	for _, ec := range chains {
		e := auditEnv{Environment: ec.t.name, Location: ec.location(), Problems: []record.Problem{}}
		rep, err := verifyChain(opts, idx, ec)
		if err == nil {
			err = rep.Err(ec.location())
		}
		e.Records, e.Head, e.Intact = rep.Records, rep.Head, err == nil
		if rep.Problems != nil {
			e.Problems = rep.Problems
		}
		if err != nil {
			e.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", ec.t.name, err))
			res.Intact = false
		} else if _, serr := idx.Sync(ctx, ec.store); serr != nil {
			opts.debugf("index %s: %v", ec.t.name, serr)
		}
		res.Environments = append(res.Environments, e)
		if opts.JSON {
			continue
		}
		mark, state := p.Paint(ansi.Green, "✓"), "intact"
		if err != nil {
			mark, state = p.Paint(ansi.Red, "✗"), "TAMPERED"
			if rep.Records == 0 && rep.Head == 0 {
				state = "not read"
			}
		}
		fmt.Fprintf(opts.Out, "%s %s: %d records, %s (%s)\n", mark, ec.t.name, rep.Records, state, ec.location())
		for _, pr := range rep.Problems {
			fmt.Fprintf(opts.Out, "    %s\n", pr)
		}
	}
	opts.setResult(res)
	if len(errs) > 0 {
		return reported(errors.Join(errs...))
	}
	return nil
}

// verifyChain reads ec's whole chain and checks it with the index's
// anchor for it (read before anything is synced).
func verifyChain(opts *AuditVerifyOptions, idx *index.Index, ec *envChain) (record.Report, error) {
	if ec.err != nil {
		return record.Report{}, ec.err
	}
	anchors, err := idx.Anchors(opts.context(), ec.location())
	if err != nil {
		return record.Report{}, err
	}
	return recordstore.Verify(opts.context(), ec.store, record.VerifyOptions{Anchors: anchors, Now: time.Now()})
}
