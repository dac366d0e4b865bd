// Package exitcode holds the process exit codes shared by ferry and
// ferry-agent. They are a contract with CI systems and with SSM, which gives
// 137, 194, 3010 and -1 meanings of its own, so none of those is used.
package exitcode

import "errors"

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

// Error carries an exit code through ordinary error wrapping, so that the
// code is decided where the failure is understood and read where the
// process ends.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With wraps err so that Code(err) reports code.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Code returns the exit code that err carries: OK for nil, Failed when err
// carries none.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failed
}
