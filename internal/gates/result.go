package gates

import (
	"encoding/json"
	"time"
)

// Status is the outcome of one gate. Only Passed and Skipped let a blocking
// gate through; every other status of a blocking gate fails the run.
type Status string

// Gate statuses.
const (
	// StatusPassed: the tool ran and its figures are within the thresholds.
	StatusPassed Status = "passed"
	// StatusFailed: a blocking gate's figures are outside its thresholds.
	StatusFailed Status = "failed"
	// StatusWarned: a non-blocking gate's figures are outside its thresholds;
	// shown, but the deploy goes on.
	StatusWarned Status = "warned"
	// StatusSkipped: disabled, cancelled before it started, or nothing to check.
	StatusSkipped Status = "skipped"
	// StatusMissing: the tool is not installed where ferry looks for it.
	StatusMissing Status = "missing"
	// StatusError: the tool ran but crashed or wrote nothing ferry could read.
	StatusError Status = "error"
	// StatusTimeout: the gate ran past its timeout and was killed.
	StatusTimeout Status = "timeout"
)

// Report is the outcome of one `ferry check`.
type Report struct {
	// Passed is true when every blocking gate passed or was skipped; the CLI
	// exits 0 then and with the refusal code otherwise.
	Passed   bool          `json:"passed"`
	Started  time.Time     `json:"started_at"`
	Duration time.Duration `json:"-"`
	AppDir   string        `json:"app_dir"`
	// Python is the interpreter the gates used, so a surprising result can
	// be traced to the wrong environment.
	Python string   `json:"python,omitempty"`
	Gates  []Result `json:"gates"`
}

// BlockingFailures names the gates that made the run fail, in report order.
func (r *Report) BlockingFailures() []string {
	var names []string
	for _, g := range r.Gates {
		if g.Blocks() {
			names = append(names, g.Name)
		}
	}
	return names
}

// Counts tallies gates by status, for one-line summaries.
func (r *Report) Counts() map[Status]int {
	m := map[Status]int{}
	for _, g := range r.Gates {
		m[g.Status]++
	}
	return m
}

// MarshalJSON adds duration_ms and blocking_failures, which are derived and
// so not stored.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		plain
		DurationMS       int64    `json:"duration_ms"`
		BlockingFailures []string `json:"blocking_failures"`
	}{plain(r), r.Duration.Milliseconds(), nonNil(r.BlockingFailures())})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Result is the outcome of one gate.
type Result struct {
	Name string `json:"name"`
	// Tool is the program that ran (path as found), or the built-in check.
	Tool     string        `json:"tool"`
	Status   Status        `json:"status"`
	Blocking bool          `json:"blocking"`
	Duration time.Duration `json:"-"`
	// Summary is the key figure in words, e.g. "12 passed, 1 failed, 0
	// skipped · coverage 84.1%".
	Summary string `json:"summary"`
	// Figures are the numbers behind Summary under stable keys (passed,
	// failed, coverage, score, high, ...), for dashboards and tests.
	Figures  map[string]float64 `json:"figures,omitempty"`
	Findings []Finding          `json:"findings,omitempty"`
	// Tests are the gate's own test cases: pytest's for the tests gate, one
	// per module for smoke, one per variable for env.
	Tests []TestCase `json:"tests,omitempty"`
	// Audit has pip-audit's report shape, whichever audit produced it.
	Audit []AuditDependency `json:"audit,omitempty"`
	// Output is the bounded tail of the tool's output, kept when the gate did
	// not pass, for the reader who needs more than the summary.
	Output string `json:"output,omitempty"`
	// Hint says what to do next when the gate did not pass.
	Hint string `json:"hint,omitempty"`
}

// Blocks reports whether this result fails the run.
func (r Result) Blocks() bool {
	return r.Blocking && r.Status != StatusPassed && r.Status != StatusSkipped
}

// MarshalJSON writes Duration as duration_ms.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{plain(r), r.Duration.Milliseconds()})
}

// Finding is one located problem a tool reported, in the shape SARIF and
// code review annotations need.
type Finding struct {
	// File is relative to the app directory, with forward slashes.
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"` // 1-based; 0 when unknown
	Rule   string `json:"rule"`             // the tool's rule or message id, e.g. B602, E501, C0114
	// RuleName is the tool's readable rule name, e.g. subprocess_popen_with_shell_equals_true.
	RuleName string `json:"rule_name,omitempty"`
	// Severity is the tool's own word, e.g. HIGH, convention, E.
	Severity string `json:"severity,omitempty"`
	// Level is the SARIF level: error, warning or note.
	Level   string `json:"level"`
	Message string `json:"message"`
	HelpURI string `json:"help_uri,omitempty"`
}

// TestCase is one test as CI test reporters show it.
type TestCase struct {
	Name      string        `json:"name"`
	Classname string        `json:"classname,omitempty"`
	File      string        `json:"file,omitempty"`
	Line      int           `json:"line,omitempty"`
	Duration  time.Duration `json:"-"`
	// Status is passed, failed, error or skipped.
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Detail is the failure's traceback or the skip reason, bounded.
	Detail string `json:"detail,omitempty"`
}

// Test case statuses.
const (
	CasePassed  = "passed"
	CaseFailed  = "failed"
	CaseError   = "error"
	CaseSkipped = "skipped"
)

// MarshalJSON writes Duration as duration_ms.
func (t TestCase) MarshalJSON() ([]byte, error) {
	type plain TestCase
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{plain(t), t.Duration.Milliseconds()})
}

// AuditDependency is one audited requirement, in pip-audit's JSON shape so
// that the offline audit and pip-audit read the same downstream.
type AuditDependency struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Vulns   []AuditVuln `json:"vulns"`
	// SkipReason says why the dependency could not be audited (not pinned,
	// not found on the index).
	SkipReason string `json:"skip_reason,omitempty"`
}

// AuditVuln is one advisory that affects a dependency's version.
type AuditVuln struct {
	ID          string   `json:"id"`
	FixVersions []string `json:"fix_versions"`
	Aliases     []string `json:"aliases"`
	Description string   `json:"description,omitempty"`
}

// EventKind tells a progress display what happened.
type EventKind string

// Progress event kinds.
const (
	EventStarted  EventKind = "started"
	EventFinished EventKind = "finished"
)

// Event is sent to Options.Progress when a gate starts and finishes. Calls
// are serialized, so the callback needs no locking of its own.
type Event struct {
	Kind EventKind
	Gate string
	// Result is set for EventFinished.
	Result *Result
}
