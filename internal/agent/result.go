package agent

import (
	"errors"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// Outcomes of an operation, as the result and the audit trail name them.
const (
	OutcomeDeployed       = "deployed"
	OutcomeFailed         = "failed"
	OutcomeRolledBack     = "rolled_back"
	OutcomeRollbackFailed = "rollback_failed"
	OutcomeLocked         = "locked"
	OutcomeInvalid        = "invalid"
	OutcomeOK             = "ok"
)

// outcomeCode maps an outcome to the exit code both binaries use.
var outcomeCode = map[string]int{
	OutcomeDeployed:       exitcode.OK,
	OutcomeOK:             exitcode.OK,
	OutcomeFailed:         exitcode.Failed,
	OutcomeInvalid:        exitcode.Usage,
	OutcomeRolledBack:     exitcode.RolledBack,
	OutcomeRollbackFailed: exitcode.RollbackFailed,
	OutcomeLocked:         exitcode.Locked,
}

// StepResult is one named step as it ran.
type StepResult struct {
	Name       StepName   `json:"name"`
	Status     StepStatus `json:"status"` // ok, skipped, failed
	DurationMS int64      `json:"duration_ms"`
	Detail     string     `json:"detail,omitempty"`
}

// Result is the agent's answer: the last line it prints, and what the
// local transport hands back in-process.
type Result struct {
	Op          string       `json:"op"`
	Outcome     string       `json:"outcome"`
	ExitCode    int          `json:"exit_code"`
	App         string       `json:"app,omitempty"`
	Environment string       `json:"environment,omitempty"`
	Host        string       `json:"host,omitempty"`
	SHA         string       `json:"sha,omitempty"`
	Release     string       `json:"release,omitempty"`
	Previous    string       `json:"previous,omitempty"`
	VenvReused  bool         `json:"venv_reused,omitempty"`
	Steps       []StepResult `json:"steps,omitempty"`
	Error       string       `json:"error,omitempty"`
	// Hints say what to do about Error, most useful first.
	Hints   []string `json:"hints,omitempty"`
	LogTail []string `json:"log_tail,omitempty"`
	// Note says why an operation had nothing to do ("already serving").
	Note string `json:"note,omitempty"`
	// Interrupted says a signal (or a cancelled context) stopped the
	// operation before it ended by itself.
	Interrupted bool     `json:"interrupted,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	DurationMS  int64    `json:"duration_ms"`
	// Status, Releases and Lock answer the read-only operations.
	Status   *Status    `json:"status,omitempty"`
	Releases []Release  `json:"releases,omitempty"`
	Lock     *LockOwner `json:"lock,omitempty"`
	// Repair answers op repair: what loading the state found and what
	// recovery did.
	Repair *RepairReport `json:"repair,omitempty"`
	// AgentVersion is this agent's version (internal/version), in every
	// result: ferry warns when a server's cached agent is not its own.
	AgentVersion string `json:"agent_version,omitempty"`
	// Doctor answers the doctor operation: one line per check.
	Doctor []Check `json:"doctor,omitempty"`
	// Exec answers op exec: the command's exit status and output.
	Exec *ExecResult `json:"exec,omitempty"`
}

// RepairReport says what op repair found and did.
type RepairReport struct {
	// State is how state.json was: "ok", "restored" (it was damaged; the
	// last good copy replaced it) or "rebuilt" (both were damaged; it was
	// rebuilt from releases/*/REVISION and the current link).
	State string `json:"state"`
	// Reason says what was wrong with state.json.
	Reason string `json:"reason,omitempty"`
	// Damaged is where the damaged state.json was kept.
	Damaged string `json:"damaged,omitempty"`
	// Releases counts the releases the state lists now; Current is the
	// one it names as current.
	Releases int    `json:"releases"`
	Current  string `json:"current,omitempty"`
	// Actions lists what else recovery did (partial directories removed,
	// interrupted releases marked, the current link repaired).
	Actions []string `json:"actions,omitempty"`
}

// Status describes what a target serves now.
type Status struct {
	Current *Release `json:"current,omitempty"`
	// Previous is the last good release: the newest kept one that proved
	// healthy, other than the current one; what a rollback returns to.
	Previous *Release `json:"previous,omitempty"`
	// Bad lists the kept releases that failed (before serving) or went
	// bad (after the switch), oldest first: never ones to go back to.
	Bad        []BadRelease `json:"bad,omitempty"`
	PID        int          `json:"pid,omitempty"`
	Running    bool         `json:"running"`
	Healthy    bool         `json:"healthy"`
	HealthNote string       `json:"health,omitempty"`
	Locked     *LockOwner   `json:"locked_by,omitempty"`
}

// BadRelease names a kept release that must not be gone back to.
type BadRelease struct {
	ID     string `json:"id"`
	SHA    string `json:"sha"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Event is one line of the agent's progress stream.
type Event struct {
	Event  EventKind  `json:"event"`
	Step   StepName   `json:"step,omitempty"`
	Status StepStatus `json:"status,omitempty"`
	MS     int64      `json:"ms,omitempty"`
	Msg    string     `json:"msg,omitempty"`
	Result *Result    `json:"result,omitempty"`
	Time   string     `json:"t,omitempty"`
}

func (r *Result) finish(outcome string, start time.Time) {
	r.Outcome = outcome
	r.ExitCode = outcomeCode[outcome]
	r.DurationMS = time.Since(start).Milliseconds()
}

// Err is the result's failure as ferry's one error type, nil on success,
// so that the CLI prints an agent's failure exactly like its own.
func (r *Result) Err() error {
	if r.ExitCode == exitcode.OK {
		return nil
	}
	msg := r.Error
	if msg == "" {
		msg = r.Outcome
	}
	return fail.New(r.ExitCode, errors.New(msg), r.Hints...)
}
