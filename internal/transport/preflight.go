package transport

import "errors"

// Preflight marks err as the transport's refusal before anything was
// sent: it asked about the servers (or where their artifacts go) first and
// found one that cannot take the command. The error keeps its exit code
// and hints; the CLI records the attempt as refused by preflight.
func Preflight(err error) error {
	if err == nil {
		return nil
	}
	return &preflightError{err: err}
}

// IsPreflight reports whether err is, or wraps, a preflight refusal.
func IsPreflight(err error) bool {
	var p *preflightError
	return errors.As(err, &p)
}

type preflightError struct{ err error }

func (e *preflightError) Error() string { return e.err.Error() }
func (e *preflightError) Unwrap() error { return e.err }
