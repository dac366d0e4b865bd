package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/internal/fail"
)

// ExecResult answers op exec: what the command did in the serving release.
type ExecResult struct {
	// Release is the release the command ran in.
	Release string `json:"release"`
	// Argv is the command as it ran, its program resolved to the venv's.
	Argv []string `json:"argv"`
	// ExitCode is the command's own exit status (ferry exec exits with it).
	ExitCode int `json:"exit_code"`
	// Output is its stdout and stderr together, the last MaxExecOutput
	// bytes (the whole output is in the release's log).
	Output string `json:"output"`
	// Truncated says Output lost its beginning.
	Truncated bool `json:"truncated,omitempty"`
}

// MaxExecOutput bounds the output a result carries: SSM returns at most
// 24,000 bytes of a command's output inline.
const MaxExecOutput = 16 << 10

// execStep runs op exec's command; the operation takes no lock (a
// one-off command must not wait for, nor hold up, a deploy), like status.
var execStep = step{StepExec, prepare, "", runExec}

// exec runs spec.Command in the release that serves now, as that release
// runs its app: its venv, its directory, its variables.
func (o *op) exec(ctx context.Context) string {
	if err := o.runStep(ctx, execStep); err != nil {
		o.fail(err)
		return OutcomeFailed
	}
	return OutcomeOK
}

func runExec(ctx context.Context, o *op) error {
	st, ok := o.readOnlyState()
	if !ok {
		return fail.Hint(fmt.Errorf("state.json cannot be read"), damagedHint)
	}
	o.state = st
	r := st.find(st.Current)
	if r == nil {
		return fail.Hint(fmt.Errorf("nothing is deployed to %s: there is no release to run the command in", o.l.root), "deploy first: ferry deploy "+o.spec.Environment)
	}
	if !dirExists(o.l.release(r.ID)) {
		return fail.Hint(fmt.Errorf("the current release %s is not on disk", r.ID), "run ferry repair "+o.spec.Environment+", then deploy")
	}
	if o.spec.CommandTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.spec.CommandTimeout)
		defer cancel()
	}
	out := &tailBuffer{max: MaxExecOutput}
	res := &ExecResult{Release: r.ID}
	o.res.Release, o.res.SHA = r.ID, r.SHA
	venv := ""
	if r.Venv != "" {
		venv = o.l.venv(r.Venv)
	}
	vars, err := o.appVars(r)
	if err != nil {
		return err
	}
	if res.Argv, err = o.command(r, literal(o.spec.Command), venv, vars); err != nil {
		return err
	}
	code, err := o.runIn(ctx, r, literal(o.spec.Command), map[string]string{"FERRY_EXEC": "1"}, nil, out, "exec")
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fail.Hint(fmt.Errorf("%s: timed out after %s", truncate(strings.Join(o.spec.Command, " "), 60), o.spec.CommandTimeout), "give it more time with --timeout")
		}
		return fail.Hint(err, "the command runs in the release's directory with its venv's programs first on PATH")
	}
	res.ExitCode = code
	res.Output, res.Truncated = out.String(), out.cut
	o.res.Exec = res
	o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("ran in %s: exit status %d", r.ID, code)})
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
		t.cut = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.ToValidUTF8(string(t.b), "�")
}
