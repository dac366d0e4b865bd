// Package exitcode holds the process exit codes shared by ferry and
// ferry-agent. They are a contract with CI systems and with SSM, which gives
// 137, 194, 3010 and -1 meanings of its own, so none of those is used.
// The error that carries a code to the end of the process is *fail.Error.
package exitcode

const (
	// OK means deployed and healthy (or, for commands that do not deploy, success).
	OK = 0
	// Failed means the operation failed and nothing changed: the old release still serves.
	Failed = 1
	// Usage means bad command-line usage, invalid configuration or invalid input.
	Usage = 2
	// RolledBack means the new release failed after the switch and the old one serves again.
	RolledBack = 3
	// RollbackFailed means the rollback itself failed: a person is needed.
	RollbackFailed = 4
	// Locked means another deploy holds the target's lock.
	Locked = 5
	// Refused means a policy refused the operation: a blocking gate, a window or a freeze.
	Refused = 6
)
