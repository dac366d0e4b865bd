package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
	"github.com/ferryhq/ferry/internal/supervise"
	"github.com/ferryhq/ferry/internal/version"
)

// Options tune an operation beyond its spec.
type Options struct {
	// Emit receives progress events; nil discards them.
	Emit func(Event)
	// Fault names a crash point for tests (see op.crashAt).
	Fault string
}

// Run modes: how a release's app process is owned (see package supervise).
const (
	// RunProcess starts the app detached and tracks it by PID file.
	RunProcess = supervise.Process
	// RunService hands the app to the OS service manager (a Windows
	// service hosted by ferry-agent, or a systemd unit), which restarts it
	// if it dies; the default for production.
	RunService = supervise.Service
)

// Run performs the spec's operation and returns its result; it never
// panics on bad input and always fills Outcome and ExitCode.
//
// Every event it emits and the result it returns are redacted: the
// values of the spec's variables (and of the releases it starts) and the
// credentials of its URLs are replaced by *** (see secrets.go).
func Run(ctx context.Context, spec Spec, opts Options) Result {
	red := &redactor{}
	red.spec(spec)
	emit := func(Event) {}
	if opts.Emit != nil {
		emit = func(ev Event) { opts.Emit(red.event(ev)) }
	}
	res := run(ctx, spec, opts.Fault, emit, red)
	red.result(&res)
	return res
}

func run(ctx context.Context, spec Spec, fault string, emit func(Event), red *redactor) Result {
	start := time.Now()
	host, _ := os.Hostname()
	res := Result{Op: spec.Op, App: spec.App, Environment: spec.Environment, SHA: spec.SHA, Host: host, AgentVersion: version.Get().Version}
	invalid := func(err error) Result {
		res.Error = "invalid spec: " + strings.ReplaceAll(err.Error(), "\n", "; ")
		res.Hints = []string{"the spec is made by ferry; if you wrote it by hand, see docs/ARCHITECTURE.md for its fields"}
		res.finish(OutcomeInvalid, start)
		return res
	}
	if err := spec.Validate(); err != nil {
		return invalid(err)
	}
	if spec.Sealed != nil {
		var err error
		if spec, err = unseal(ctx, spec); err != nil {
			res.Error = err.Error()
			res.Hints = []string{"the sealed part of the spec is fetched from the URL ferry presigned: check that the server reaches it and that it has not expired (re-run the deploy)"}
			res.finish(OutcomeFailed, start)
			return res
		}
		red.spec(spec)
		if err := spec.Validate(); err != nil {
			return invalid(err)
		}
	}
	root, err := ResolveRoot(spec.Root)
	if err != nil {
		res.Error = err.Error()
		res.Hints = []string{"set HOME for the account the agent runs as, or give an absolute root"}
		res.finish(OutcomeInvalid, start)
		return res
	}
	o := &op{spec: spec, l: layout{root: root}, res: &res, host: host, emit: emit, fault: fault, red: red}
	if o.sup, err = supervise.New(spec.RunAs, o.target()); err != nil {
		res.Error = err.Error()
		res.Hints = []string{"use run_as: process"}
		res.finish(OutcomeInvalid, start)
		return res
	}
	var outcome string
	switch spec.Op {
	case OpApply:
		outcome = o.apply(ctx)
	case OpRollback:
		outcome = o.execute(ctx, rollbackPlan)
	case OpStatus:
		outcome = o.status(ctx)
	case OpReleases:
		outcome = o.releases()
	case OpUnlock:
		outcome = o.breakLock()
	case OpRepair:
		if outcome = o.execute(ctx, repairPlan); outcome == OutcomeDeployed {
			outcome = OutcomeOK
		}
		o.reportRepair()
	case OpDoctor:
		outcome = o.doctor(ctx)
	case OpExec:
		outcome = o.exec(ctx)
	}
	res.finish(outcome, start)
	return res
}

// op carries one operation's working state between its steps.
type op struct {
	spec  Spec
	l     layout
	res   *Result
	host  string
	emit  func(Event)
	fault string
	sup   supervise.Supervisor
	// state is the target's state.json, loaded by the lock step.
	state *State
	// unlock releases the lock the lock step took.
	unlock func()
	// repair is what loading the state and recovering found (op repair
	// reports it; any operation warns of it).
	repair *RepairReport
	// runs caches how releases run, values included (see runOf).
	runs map[string]*RunConfig
	// red redacts secret values and URL credentials from every event and
	// result.
	red *redactor
	// tracker records the running children's process groups in the lock
	// directory while the lock is held.
	tracker *proc.Tracker

	// What the operation changes, decided by its steps and read by the
	// failure handling of execute.
	from     string      // the release current when the lock was taken
	to       string      // the release being made current
	built    bool        // this operation built to (a deploy): its status follows the outcome
	stopped  bool        // what served was stopped
	switched bool        // state.json names to as current
	handle   proc.Handle // what the start step started
	// exported lists the new release's files as exported, on a first
	// deploy (see writes.go).
	exported map[string]bool
	// hookEnv is what on_failure's commands are told of the failure.
	hookEnv map[string]string

	// A deploy's build, from step to step.
	dir     string            // the new release's directory
	venvKey string            // its venv
	reused  bool              // the venv was there already
	probe   chan probed       // the interpreter's version, asked early
	nodeKey string            // its node_modules (runtime node)
	decl    pyenv.Declaration // what the release declares for its venv
}

// repaired notes one thing recovery did, for the repair report.
func (o *op) repaired(action string) {
	if o.repair == nil {
		o.repair = &RepairReport{State: "ok"}
	}
	o.repair.Actions = append(o.repair.Actions, action)
}

func (o *op) warn(msg string) {
	o.res.Warnings = append(o.res.Warnings, msg)
	o.emit(Event{Event: EventWarn, Msg: msg})
}

// fail records the operation's first error and adds its hints: the
// error's own, then the given ones.
func (o *op) fail(err error, hints ...string) {
	if o.res.Error == "" {
		o.res.Error = err.Error()
	}
	for _, h := range append(fail.Hints(err), hints...) {
		if h != "" {
			o.res.Hints = append(o.res.Hints, h)
		}
	}
}

func (o *op) saveState() error {
	// Reasons quote errors, and errors may quote a URL with a password.
	for i := range o.state.Releases {
		o.state.Releases[i].Reason = o.red.text(o.state.Releases[i].Reason)
	}
	if err := o.state.save(o.l); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// target is how the supervisor sees this operation's app.
func (o *op) target() supervise.Target {
	return supervise.Target{
		Root: o.l.root, App: o.spec.App, Environment: o.spec.Environment,
		Service: supervise.ServiceName(o.spec.App, o.spec.Environment),
		PIDFile: o.l.pidFile(), RunDir: o.l.run(), BinDir: o.l.bin(), LogDir: o.l.logs(),
		Warn: o.warn,
	}
}

// selfStart identifies this process across PID reuse, for the lock.
func selfStart() uint64 { return proc.StartTimeOf(os.Getpid()) }
