package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/record"
)

// HistoryOptions are ferry history's.
type HistoryOptions struct {
	Common
	// Env is the environment; empty means every environment of ferry.yml.
	Env string
	// Since, Outcome, SHA and Actor filter the attempts (--since, --outcome,
	// --sha, --actor).
	Since, Outcome, SHA, Actor string
	// CSV prints the attempts as CSV (--csv).
	CSV bool
}

// historyOutcomes are what --outcome takes.
var historyOutcomes = []record.Outcome{record.OutcomeDeployed, record.OutcomeOK, record.OutcomeFailed, record.OutcomeRolledBack,
	record.OutcomeRollbackFailed, record.OutcomeLocked, record.OutcomeRefused, record.OutcomeInterrupted, record.OutcomeUnknown, index.OutcomeUnfinished}

// NewCmdHistory is ferry history; runF as for NewCmdDeploy.
func NewCmdHistory(f *Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "history [ENV]",
		Short: "Every recorded attempt on ENV (or every environment): who, what, when, where, how it ended",
		Long: `List the attempts recorded for ENV, or every environment of ferry.yml, newest
first: deploys, rollbacks and refusals, with who made them, the commit, the
outcome and why. The records are read from where each environment keeps them
(its bucket, or its root for a local target) into a local index
($FERRY_INDEX, else the user cache), incrementally, and queried there. An
attempt whose writer was killed shows as unfinished.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if opts.CSV && globalsOf(cmd).JSON {
				return fail.Usage(fmt.Errorf("--csv and --json are two answers to one question"), "give one of them")
			}
			if opts.Outcome != "" && !knownOutcome(opts.Outcome) {
				var names []string
				for _, o := range historyOutcomes {
					names = append(names, string(o))
				}
				return fail.Usage(fmt.Errorf("--outcome %q is not an outcome", opts.Outcome), "one of "+strings.Join(names, ", "))
			}
			return checkSince(opts.Since)
		},
		RunE: runE(opts, &opts.Common, func(args []string) {
			if len(args) > 0 {
				opts.Env = args[0]
			}
		}, runF, runHistory),
	}
	cmd.Flags().StringVar(&opts.Since, "since", "", "only attempts started since: days or weeks (30d, 2w), hours (36h), a date or an RFC 3339 time")
	cmd.Flags().StringVar(&opts.Outcome, "outcome", "", "only attempts that ended so: deployed, failed, rolled_back, refused, unfinished, …")
	cmd.Flags().StringVar(&opts.SHA, "sha", "", "only attempts of this commit (a prefix)")
	cmd.Flags().StringVar(&opts.Actor, "actor", "", "only attempts by this person (the GitHub actor or git user name)")
	cmd.Flags().BoolVar(&opts.CSV, "csv", false, "print CSV (RFC 4180, a header line) instead of a table")
	return cmd
}

func knownOutcome(s string) bool {
	for _, o := range historyOutcomes {
		if string(o) == s {
			return true
		}
	}
	return false
}

// historyResult is ferry history's --json result.
type historyResult struct {
	Attempts []index.Row `json:"attempts"`
}

// runHistory syncs the index and prints the attempts the filters select.
func runHistory(opts *HistoryOptions) error {
	ctx := opts.context()
	var since time.Time
	if opts.Since != "" {
		now, err := opts.now()
		if err != nil {
			return err
		}
		if since, err = parseSince(opts.Since, now); err != nil {
			return err
		}
	}
	idx, chains, err := opts.syncChains(ctx, opts.Env)
	if err != nil {
		return err
	}
	defer idx.Close()
	rows := []index.Row{}
	for _, ec := range chains {
		got, err := idx.History(ctx, index.Filter{Location: ec.location(), Since: since, Outcome: opts.Outcome, SHA: opts.SHA, Actor: opts.Actor})
		if err != nil {
			return err
		}
		rows = append(rows, got...)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Started.After(rows[j].Started) })
	opts.setResult(&historyResult{Attempts: rows})
	switch {
	case opts.JSON:
		return nil
	case opts.CSV:
		return index.WriteCSV(opts.Out, rows)
	case len(rows) == 0:
		fmt.Fprintln(opts.Err, "no recorded attempt matches")
		return nil
	}
	return index.WriteTable(opts.Out, rows)
}
