package agent

// StepName names one step of an operation. The agent emits it in events
// and results; the CLI's progress lines and job summary read it, so both
// sides spell a step the same way.
type StepName string

// The steps of the agent's operations, in the order a deploy runs them.
const (
	StepLock    StepName = "lock"
	StepFetch   StepName = "fetch"
	StepVenv    StepName = "venv"
	StepInstall StepName = "install"
	StepLink    StepName = "link"
	// StepBeforeSwitch runs the before_switch hooks (migrations).
	StepBeforeSwitch StepName = "before_switch"
	StepStop         StepName = "stop"
	StepSwitch       StepName = "switch"
	StepStart        StepName = "start"
	StepHealth       StepName = "health"
	// StepWrites warns, on a first deploy, of data the app wrote into
	// its release directory instead of shared/.
	StepWrites StepName = "writes"
	// StepAfterHealthy runs the after_healthy hooks.
	StepAfterHealthy StepName = "after_healthy"
	// StepWatch keeps probing a healthy release (health.watch).
	StepWatch StepName = "watch"
	StepPrune StepName = "prune"
	// StepVerify checks that a rollback's target is still on disk.
	StepVerify StepName = "verify"
	// StepRollback returns to the previous release after a failed deploy.
	StepRollback StepName = "rollback"
	// StepRestore returns to the release a failed rollback left.
	StepRestore StepName = "restore"
	// StepOnFailure runs the on_failure hooks after a failed deploy.
	StepOnFailure StepName = "on_failure"
	// StepExec runs op exec's command in the serving release.
	StepExec StepName = "exec"
)

// EventKind says what an event line reports.
type EventKind string

// Event kinds of the agent's progress stream.
const (
	// EventStep is a step starting or ending (see StepStatus).
	EventStep EventKind = "step"
	// EventWarn is something a person should know that did not fail.
	EventWarn EventKind = "warn"
	// EventLog is a detail line (how health went, what was reused).
	EventLog EventKind = "log"
	// EventResult is the last line: the operation's Result.
	EventResult EventKind = "result"
	// EventHang says a fault-injection point is holding the operation.
	EventHang EventKind = "hang"
)

// StepStatus is where a step is, in events and in results.
type StepStatus string

// Step statuses.
const (
	StepStarted StepStatus = "start"
	StepOK      StepStatus = "ok"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "failed"
)
