// Package record is ferry's audit record: one immutable JSON object per
// attempt (deploy, rollback, fleet rollback, exec, and every refusal),
// chained per environment by SHA-256 so that an edited, removed, inserted
// or reordered record is found by Verify.
//
// The runner writes an attempt as two records: a begin record when the
// attempt starts (who, what, where, when it started) and an end record
// when it finishes (outcome, exit code, instances, steps). The end record
// repeats everything the begin record said, so readers need only end
// records; the begin record exists so that a writer killed mid-attempt
// (SIGKILL, a lost runner) leaves evidence: a begin with no end, which
// Verify reports as an unfinished attempt, never as tampering. Refusals
// decided before anything is touched may be written as a lone end record.
//
// How the CLI uses it (store from package recordstore):
//
//	r := &record.Record{Op: record.OpDeploy, App: app, Environment: env,
//		Actor: record.ActorFrom(getenv, gitUser), Change: change,
//		FerryVersion: version, RunURL: runURL, Started: time.Now()}
//	r.ID = record.NewID()
//	begin, err := store.Append(ctx, r.AsBegin())  // before the transport
//	... run the attempt ...
//	r.BeginSeq = begin.Seq
//	r.Finish(record.OutcomeDeployed, 0, time.Now())
//	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
//	_, err = store.Append(wctx, r)   // still written after Ctrl-C cancelled ctx
//	cancel()
//
// The format is versioned ("schema": 1) and described for other tools by
// JSONSchema (schema.json). Records are never rewritten. Top-level fields this version does not
// know (written by a newer ferry) survive Decode and Encode in Extra, and
// hashing always uses the stored bytes, so an old ferry verifies a new
// ferry's chain.
package record

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/user"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
)

// Schema is the version of the record format this ferry writes. Readers
// accept any version: fields they do not know are kept, not refused.
const Schema = 1

// Phase says whether a record opens or closes an attempt.
type Phase string

// Phases.
const (
	// PhaseBegin is written when an attempt starts; it has no outcome.
	PhaseBegin Phase = "begin"
	// PhaseEnd closes an attempt with its outcome.
	PhaseEnd Phase = "end"
)

// Op is what was attempted.
type Op string

// Operations.
const (
	OpDeploy        Op = "deploy"
	OpRollback      Op = "rollback"
	OpFleetRollback Op = "fleet_rollback"
	OpExec          Op = "exec"
)

// Outcome is how an attempt ended. The values match the agent's result
// outcomes where they overlap, so the runner copies them through.
type Outcome string

// Outcomes.
const (
	// OutcomeDeployed: the target release serves and is healthy (a deploy,
	// or a rollback that reached the release it was asked for).
	OutcomeDeployed Outcome = "deployed"
	// OutcomeOK: an exec (or another operation that deploys nothing) succeeded.
	OutcomeOK Outcome = "ok"
	// OutcomeFailed: failed with nothing changed; the old release serves.
	OutcomeFailed Outcome = "failed"
	// OutcomeRolledBack: a deploy failed after the switch and the previous
	// release serves again (exit 3).
	OutcomeRolledBack Outcome = "rolled_back"
	// OutcomeRollbackFailed: the rollback failed too; a person is needed (exit 4).
	OutcomeRollbackFailed Outcome = "rollback_failed"
	// OutcomeLocked: another deploy held the lock (exit 5).
	OutcomeLocked Outcome = "locked"
	// OutcomeRefused: a policy refused the attempt (exit 6); see Refusal.
	OutcomeRefused Outcome = "refused"
	// OutcomeInterrupted: stopped by a signal or a deadline before it could
	// finish; Instances say what each server was left with.
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomeUnknown: the result could not be learned (an instance killed
	// while the agent ran); a person must look.
	OutcomeUnknown Outcome = "unknown"
)

// Policy names what refused an attempt.
type Policy string

// Refusing policies.
const (
	PolicyGate      Policy = "gate"
	PolicyWindow    Policy = "window"
	PolicyFreeze    Policy = "freeze"
	PolicyLock      Policy = "lock"
	PolicyPreflight Policy = "preflight"
)

// Record is one audit record. Field order is the JSON order.
type Record struct {
	// Schema is the format version (Schema when written by this ferry).
	Schema int `json:"schema"`
	// Seq is the record's place in its environment's chain, from 1. It is
	// also the object's name, so two writers can never both take it.
	Seq int64 `json:"seq"`
	// Prev is the hex SHA-256 of the stored bytes of record Seq-1; empty
	// for record 1.
	Prev string `json:"prev"`
	// ID names the attempt; its begin and end records share it.
	ID string `json:"id"`
	// Phase says whether this record opens (begin) or closes (end) the attempt.
	Phase Phase `json:"phase"`
	// BeginSeq is, on an end record, the Seq of its begin record (0 when
	// the attempt was recorded by its end alone).
	BeginSeq int64 `json:"begin_seq,omitempty"`

	// Op is what was attempted; App and Environment name where, as
	// ferry.yml does.
	Op          Op     `json:"op"`
	App         string `json:"app"`
	Environment string `json:"environment"`
	// Actor is who; Change is what.
	Actor  Actor  `json:"actor"`
	Change Change `json:"change"`
	// Gates are the quality gates' results, or why they were skipped.
	Gates *Gates `json:"gates,omitempty"`
	// FerryVersion is the version of the ferry that made the attempt.
	FerryVersion string `json:"ferry_version"`
	// RunURL links to the CI run that made the attempt, when there was one.
	RunURL string `json:"run_url,omitempty"`

	// Started and Ended are when the attempt began and finished (UTC);
	// Ended is zero on a begin record.
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// Target is where: the transport and each instance's outcome.
	Target Target `json:"target"`

	// Outcome (empty on a begin record) and ExitCode are how the attempt
	// ended, as the process exited (see package exitcode).
	Outcome  Outcome `json:"outcome,omitempty"`
	ExitCode int     `json:"exit_code"`
	// Refusal says which policy refused the attempt and why.
	Refusal *Refusal `json:"refusal,omitempty"`
	// Error and Hints are the failure as the person running ferry saw it.
	Error string   `json:"error,omitempty"`
	Hints []string `json:"hints,omitempty"`
	// Steps are the runner's and the agent's steps as they ran.
	Steps []Step `json:"steps,omitempty"`
	// Emergency is set when policies were overridden, with the reason given.
	Emergency *Emergency `json:"emergency,omitempty"`
	// Hotfix marks an unplanned deploy made to repair a failure (--hotfix):
	// it counts toward change fail rate and deployment rework rate.
	Hotfix bool `json:"hotfix,omitempty"`
	// Reason names, for an attempt that did not succeed, the step whose
	// failure decided it: an agent step ("health", "watch", "start") or
	// a runner step ("gates", "policy", "transport").
	Reason string `json:"reason,omitempty"`
	// Notifications are the deliveries of the attempt's messages, each
	// with its outcome: a failed delivery never fails an attempt, it is
	// recorded here.
	Notifications []Notification `json:"notifications,omitempty"`

	// Extra holds top-level fields this version does not know, kept as
	// written so that nothing a newer ferry recorded is lost in transit.
	Extra map[string]json.RawMessage `json:"-"`
}

// Actor is who made the attempt.
type Actor struct {
	// Name is the GitHub actor in Actions, else git's user.name, else the
	// OS user.
	Name string `json:"name"`
	// Source says where Name came from: github, git or os.
	Source string `json:"source"`
	// OSUser is the account ferry ran as.
	OSUser string `json:"os_user,omitempty"`
	// AWSPrincipal is the caller's ARN (sts:GetCallerIdentity), when known.
	AWSPrincipal string `json:"aws_principal,omitempty"`
}

// Change is what was deployed.
type Change struct {
	// SHA is the full commit deployed (or returned to).
	SHA string `json:"sha,omitempty"`
	// CommitTime is the committer time of SHA: the start of its lead time.
	CommitTime time.Time `json:"commit_time,omitzero"`
	// Branch is the branch deployed from.
	Branch string `json:"branch,omitempty"`
	// Release is the release directory the attempt made or returned to.
	Release string `json:"release,omitempty"`
	// PreviousRelease is what served before.
	PreviousRelease string `json:"previous_release,omitempty"`
}

// Gates are the quality gates before a deploy.
type Gates struct {
	// Skipped is true when the gates did not run (--skip-gates); Reason says why.
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Results are the gates that ran, in order.
	Results []GateResult `json:"results,omitempty"`
}

// GateResult is one gate as it ran: its name, its status (pass, fail,
// warn, error), whether it blocks, how long it took, and one line of
// what it found.
type GateResult struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	Blocking   bool   `json:"blocking,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Summary    string `json:"summary,omitempty"`
}

// Target is where the attempt ran.
type Target struct {
	// Kind is the transport: local or ssm.
	Kind string `json:"kind"`
	// Instances are the servers, each with its own outcome.
	Instances []Instance `json:"instances,omitempty"`
}

// Instance is one server (its ID) and how the attempt ended there: the
// outcome and exit code of its agent (or not_run, cancelled, unknown),
// the release it was left on, and its error.
type Instance struct {
	ID       string `json:"id"`
	Outcome  string `json:"outcome"`
	ExitCode int    `json:"exit_code"`
	Release  string `json:"release,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Step is one named step (the runner's or the agent's), its status (ok,
// skipped, failed) and how long it took.
type Step struct {
	Name       string `json:"name"`
	Status     string `json:"status,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Refusal is the policy that refused an attempt, and why in its words.
type Refusal struct {
	Policy Policy `json:"policy"`
	Reason string `json:"reason"`
}

// Emergency records an override of the policies, with the reason given
// and the rules it overrode ("window Tue-Thu 10:00-14:00", "freeze
// year-end"; none when the deploy fell inside a window anyway).
type Emergency struct {
	Reason     string   `json:"reason"`
	Overridden []string `json:"overridden,omitempty"`
}

// Notification is one channel's delivery of one message: which channel
// (its kind, its place in ferry.yml's notify list, what it names), the
// event, whether it was delivered and after how many tries, and why not.
type Notification struct {
	Channel   string `json:"channel"`
	Index     int    `json:"index"`
	Target    string `json:"target,omitempty"`
	Event     string `json:"event"`
	Delivered bool   `json:"delivered"`
	Attempts  int    `json:"attempts"`
	Error     string `json:"error,omitempty"`
}

// ErrConflict means writers kept taking the sequence number first.
var ErrConflict = errors.New("sequence number already taken")

// NewID returns a fresh attempt ID (16 random bytes, hex).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}

// AsBegin returns the begin record of r's attempt: who, what, where and
// when it started, without any outcome.
func (r *Record) AsBegin() *Record {
	b := *r
	b.Phase = PhaseBegin
	b.BeginSeq = 0
	b.Ended = time.Time{}
	b.Outcome, b.ExitCode, b.Refusal, b.Error, b.Hints, b.Steps = "", 0, nil, "", nil, nil
	b.Reason, b.Notifications = "", nil
	b.Target.Instances = nil
	return &b
}

// Finish makes r the end record of its attempt.
func (r *Record) Finish(outcome Outcome, exitCode int, ended time.Time) {
	r.Phase = PhaseEnd
	r.Outcome = outcome
	r.ExitCode = exitCode
	r.Ended = ended
}

// Duration is how long the attempt took (zero for a begin record).
func (r *Record) Duration() time.Duration {
	if r.Ended.IsZero() {
		return 0
	}
	return r.Ended.Sub(r.Started)
}

// ActorFrom names the actor the way the pipeline standard asks: the
// GitHub actor in Actions, else gitUser (git's user.name), else the OS
// user. getenv is os.Getenv or a test's map.
func ActorFrom(getenv func(string) string, gitUser string) Actor {
	a := Actor{}
	if u, err := user.Current(); err == nil {
		a.OSUser = u.Username
	}
	switch {
	case getenv("GITHUB_ACTIONS") == "true" && getenv("GITHUB_ACTOR") != "":
		a.Name, a.Source = getenv("GITHUB_ACTOR"), "github"
	case gitUser != "":
		a.Name, a.Source = gitUser, "git"
	case a.OSUser != "":
		a.Name, a.Source = a.OSUser, "os"
	default:
		a.Name, a.Source = "unknown", "os"
	}
	return a
}

// Validate checks what every record needs before it is written.
func (r *Record) Validate() error {
	var errs []error
	if r.Phase != PhaseBegin && r.Phase != PhaseEnd {
		errs = append(errs, fmt.Errorf("phase %q: must be begin or end", r.Phase))
	}
	switch r.Op {
	case OpDeploy, OpRollback, OpFleetRollback, OpExec:
	default:
		errs = append(errs, fmt.Errorf("op %q: must be deploy, rollback, fleet_rollback or exec", r.Op))
	}
	if r.ID == "" {
		errs = append(errs, errors.New("attempt id is empty"))
	}
	if r.App == "" || r.Environment == "" {
		errs = append(errs, errors.New("app and environment are required"))
	}
	if r.Started.IsZero() {
		errs = append(errs, errors.New("start time is missing"))
	}
	if r.Phase == PhaseEnd {
		if r.Outcome == "" {
			errs = append(errs, errors.New("an end record needs an outcome"))
		}
		if r.Ended.IsZero() {
			errs = append(errs, errors.New("an end record needs an end time"))
		}
	}
	if r.Phase == PhaseBegin && r.Outcome != "" {
		errs = append(errs, errors.New("a begin record has no outcome"))
	}
	if r.Outcome == OutcomeRefused && r.Refusal == nil {
		errs = append(errs, errors.New("a refused attempt names its policy (refusal)"))
	}
	return errors.Join(errs...)
}

// Encode gives r its place in the chain (seq, and prev: the hash of the
// stored bytes of record seq-1) and returns the bytes to store: compact
// JSON and a newline. Times are written in UTC.
func Encode(r *Record, seq int64, prev string) ([]byte, error) {
	if r.Schema == 0 {
		r.Schema = Schema
	}
	r.Seq, r.Prev = seq, prev
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("record %d: %w", seq, err)
	}
	utc(r)
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record %d: %w", seq, err)
	}
	return append(b, '\n'), nil
}

func utc(r *Record) {
	r.Started = r.Started.UTC()
	if !r.Ended.IsZero() {
		r.Ended = r.Ended.UTC()
	}
	if !r.Change.CommitTime.IsZero() {
		r.Change.CommitTime = r.Change.CommitTime.UTC()
	}
}

// Decode parses stored bytes. Unknown top-level fields go to Extra.
func Decode(raw []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Hash is the hex SHA-256 of a record's stored bytes: what its successor
// holds in Prev.
func Hash(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// plain has Record's fields without its methods, so that marshalling it
// does not recurse.
type plain Record

// MarshalJSON writes the known fields, then Extra's in key order.
func (r Record) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(plain(r))
	if err != nil || len(r.Extra) == 0 {
		return b, err
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		if !knownFields()[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		buf.WriteByte(',')
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(r.Extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads the known fields and keeps the others in Extra.
func (r *Record) UnmarshalJSON(b []byte) error {
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k := range all {
		if knownFields()[k] {
			delete(all, k)
		}
	}
	*r = Record(p)
	r.Extra = nil
	if len(all) > 0 {
		r.Extra = all
	}
	return nil
}

// knownFields are the JSON names of Record's fields.
var knownFields = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[plain]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
})

// JSONSchema is the record format as a JSON Schema (draft 2020-12), for
// people and tools that read the records without ferry.
//
//go:embed schema.json
var JSONSchema []byte
