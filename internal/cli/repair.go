package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/agent"
)

// opRepair is the agent's repair operation (agent.OpRepair once the
// agent's side of the hardening has landed).
const opRepair = "repair"

// RepairOptions are ferry repair's.
type RepairOptions struct {
	Common
	// Env is the environment whose servers to repair.
	Env string
	// LockWait is how long to wait for another deploy's lock (--lock-wait).
	LockWait time.Duration
}

// NewCmdRepair is ferry repair; runF as for NewCmdDeploy.
func NewCmdRepair(f *Factory, runF func(*RepairOptions) error) *cobra.Command {
	opts := &RepairOptions{Common: common(f)}
	cmd := &cobra.Command{
		Use:   "repair ENV",
		Short: "Repair the deployment root on every server of ENV and say what was wrong",
		Long: `Repair the deployment root on every server of ENV, on purpose: under the
deploy lock, the agent loads state.json (a damaged one is restored from
its last good copy, or rebuilt from the releases on disk, and kept for
diagnosis), removes what killed operations left (partial release
directories), marks releases left half-built as failed and points current
at the release the state names. Every deploy and rollback does the same
first; ferry repair does it without changing what serves, and reports
what it found on each server.`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE:    runE(opts, &opts.Common, func(args []string) { opts.Env = args[0] }, runF, runRepair),
		PreRunE: func(*cobra.Command, []string) error { return checkLockWait(opts.LockWait) },
	}
	cmd.Flags().DurationVar(&opts.LockWait, "lock-wait", 0, "wait this long for another deploy's lock")
	return cmd
}

// runRepair repairs every server and prints what each one's agent found.
func runRepair(opts *RepairOptions) error {
	_, results, _, err := opts.readOpWith(opts.Env, opRepair, func(s *agent.Spec) { s.LockWait = opts.LockWait })
	if opts.JSON || results == nil {
		return err
	}
	for _, r := range results {
		printRepair(opts.Out, r.Target, r.Result, repairOf(r.Result))
	}
	return err
}

// repairReport is what the agent's repair found and did, as its result
// carries it (agent.RepairReport).
type repairReport struct {
	State    string   `json:"state"`
	Reason   string   `json:"reason"`
	Damaged  string   `json:"damaged"`
	Releases int      `json:"releases"`
	Current  string   `json:"current"`
	Actions  []string `json:"actions"`
}

// repairOf reads the report from a result through its JSON form, which
// holds it whatever the agent's Go type is called.
func repairOf(res agent.Result) *repairReport {
	b, err := json.Marshal(res)
	if err != nil {
		return nil
	}
	var r struct {
		Repair *repairReport `json:"repair"`
	}
	if json.Unmarshal(b, &r) != nil {
		return nil
	}
	return r.Repair
}

// printRepair says what one server's repair found: rep is its report, nil
// from an agent that gives none.
func printRepair(w io.Writer, target string, res agent.Result, rep *repairReport) {
	if res.ExitCode != 0 {
		fmt.Fprintf(w, "%s: not repaired (%s)\n", target, res.Outcome)
		return
	}
	if rep == nil {
		fmt.Fprintf(w, "%s: repaired\n", target)
	} else {
		var what string
		switch rep.State {
		case "ok":
			what = "state.json was sound"
		case "restored":
			what = "state.json was damaged (" + rep.Reason + "): restored from its last good copy"
		case "rebuilt":
			what = "state.json and its last good copy were damaged (" + rep.Reason + "): rebuilt from the releases on disk"
		default:
			what = "state.json: " + rep.State
		}
		current := "nothing current"
		if rep.Current != "" {
			current = "current " + rep.Current
		}
		fmt.Fprintf(w, "%s: %s; %d releases, %s\n", target, what, rep.Releases, current)
		if rep.Damaged != "" {
			fmt.Fprintf(w, "  the damaged file is kept as %s\n", rep.Damaged)
		}
		for _, a := range rep.Actions {
			fmt.Fprintf(w, "  %s\n", a)
		}
		if rep.State == "ok" && len(rep.Actions) == 0 {
			fmt.Fprintln(w, "  nothing needed repair")
		}
	}
	for _, warn := range res.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", strings.TrimSpace(warn))
	}
}
