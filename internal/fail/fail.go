// Package fail is ferry's one error type. A failure is decided where it
// is understood (a config key, an AWS call, a step on the server) and
// printed where the process ends, so the error carries both the exit code
// and the advice from one place to the other through ordinary wrapping:
// fmt.Errorf("deploy: %w", fail.New(exitcode.Locked, err, "wait")) still
// exits 5 with its hint.
//
// Several problems found in one pass (every mistake in ferry.yml) travel
// as errors.Join of *Error values and are printed one after another, each
// with its own hints.
//
// The package is standard library only: ferry-agent uses it too.
package fail

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ferryhq/ferry/internal/exitcode"
)

// Error is a failure with the exit code it deserves and what to do about it.
type Error struct {
	// Code is the process exit code (see package exitcode); zero means
	// exitcode.Failed, so a forgotten code never reads as success.
	Code int
	// Err is what went wrong, lowercase, wrapped with context.
	Err error
	// Hints say what to do, one sentence each, most useful first.
	Hints []string
}

// Error is the failure alone: hints are printed apart, by Format.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap lets errors.Is and errors.As see the cause.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the code the process exits with for this error.
func (e *Error) ExitCode() int {
	if e.Code == 0 {
		return exitcode.Failed
	}
	return e.Code
}

// New wraps err with an exit code and hints; nil stays nil. Empty hints
// are dropped, so callers can pass a hint that may not apply.
func New(code int, err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err, Hints: compact(hints)}
}

// Errorf is New with a formatted message (%w wraps as in fmt.Errorf).
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// WithHints returns a copy of e with more hints, for the Errorf form:
// fail.Errorf(exitcode.Usage, "unknown environment %q", n).WithHints("…").
func (e *Error) WithHints(hints ...string) *Error {
	c := *e
	c.Hints = append(append([]string(nil), e.Hints...), compact(hints)...)
	return &c
}

// Usage is a usage or input error (exit 2) with hints.
func Usage(err error, hints ...string) error { return New(exitcode.Usage, err, hints...) }

// Hint adds hints to err without changing its exit code.
func Hint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &Error{Code: Code(err), Err: err, Hints: compact(hints)}
}

// Code returns the exit code err carries: OK for nil, the outermost
// *Error's code otherwise, Failed when it carries none.
func Code(err error) int {
	if err == nil {
		return exitcode.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.ExitCode()
	}
	return exitcode.Failed
}

// Hints returns every hint along err's chain, outermost first, each once.
// It does not descend into joined errors: those are separate problems,
// each with its own hints (see Problems).
func Hints(err error) []string {
	var out []string
	seen := map[string]bool{}
	for err != nil {
		if e, ok := err.(*Error); ok {
			for _, h := range e.Hints {
				if !seen[h] {
					seen[h] = true
					out = append(out, h)
				}
			}
		}
		err = errors.Unwrap(err)
	}
	return out
}

// Problems returns the separate problems err holds: the members of the
// first joined error along its chain, or nil when it is a single failure.
func Problems(err error) []error {
	for err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			return j.Unwrap()
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// Format prints err for a person: an "error: " line (one per problem),
// each followed by its "hint: " lines, then the hints of the whole.
func Format(w io.Writer, err error) {
	if err == nil {
		return
	}
	if ps := Problems(err); len(ps) > 0 {
		for _, p := range ps {
			Format(w, p)
		}
	} else {
		msg := strings.TrimRight(err.Error(), "\n")
		fmt.Fprintf(w, "error: %s\n", strings.ReplaceAll(msg, "\n", "\n       "))
	}
	for _, h := range Hints(err) {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
}

// JSON is how an error appears in --json output.
type JSON struct {
	Message string   `json:"message"`
	Hints   []string `json:"hints,omitempty"`
	// Problems lists each problem when several were found at once.
	Problems []JSON `json:"problems,omitempty"`
}

// ToJSON renders err for --json; nil for nil.
func ToJSON(err error) *JSON {
	if err == nil {
		return nil
	}
	j := &JSON{Message: err.Error(), Hints: Hints(err)}
	for _, p := range Problems(err) {
		j.Problems = append(j.Problems, *ToJSON(p))
	}
	return j
}

func compact(hints []string) []string {
	var out []string
	for _, h := range hints {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}
