package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/text"
)

// Hooks are the commands a deploy runs on the server, each an argument
// vector (never a shell string), in the new release's directory with its
// venv and environment, bounded by Timeout, its output appended to the
// release's log. Each kind is a step of deployPlan.
type Hooks struct {
	// BeforeSwitch runs after the release is built and linked, while the
	// old release still serves (migrations): a failure stops the deploy
	// with nothing changed.
	BeforeSwitch [][]string `json:"before_switch,omitempty"`
	// AfterHealthy runs once the new release serves and answered healthy;
	// a failure is a warning (the release serves).
	AfterHealthy [][]string `json:"after_healthy,omitempty"`
	// OnFailure runs when the deploy failed, after what served before was
	// restored, with FERRY_FAILED_STEP and FERRY_OUTCOME set; a failure is
	// a warning.
	OnFailure [][]string `json:"on_failure,omitempty"`
	// Timeout bounds each command; zero means DefaultHookTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// DefaultHookTimeout bounds a hook that sets no timeout: a migration may
// take minutes, a hung one must not hold the deploy lock forever.
const DefaultHookTimeout = 10 * time.Minute

// maxHooks bounds the commands of one kind.
const maxHooks = 16

func (h *Hooks) validate() []error {
	var errs []error
	for name, cmds := range map[string][][]string{"before_switch": h.BeforeSwitch, "after_healthy": h.AfterHealthy, "on_failure": h.OnFailure} {
		if len(cmds) > maxHooks {
			errs = append(errs, fmt.Errorf("hooks.%s has %d commands, more than %d", name, len(cmds), maxHooks))
		}
		for i, argv := range cmds {
			if err := checkArgv(argv); err != nil {
				errs = append(errs, fmt.Errorf("hooks.%s[%d]: %v", name, i, err))
			}
		}
	}
	if h.Timeout < 0 || h.Timeout > 24*time.Hour {
		errs = append(errs, errors.New("hooks.timeout out of range"))
	}
	return errs
}

// checkArgv asks of a command what the start command must be: 1 to 64
// plain words, the program not an option.
func checkArgv(argv []string) error {
	if len(argv) == 0 || len(argv) > 64 {
		return errors.New("must have 1 to 64 words")
	}
	for _, w := range argv {
		if err := plain(w, maxValue); err != nil {
			return err
		}
	}
	if argv[0] == "" || strings.HasPrefix(argv[0], "-") {
		return fmt.Errorf("the program %q must not be empty or start with '-'", argv[0])
	}
	return nil
}

// hookStep is the step that runs the hooks of one kind.
func hookStep(name StepName, ph phase, pick func(*Hooks) [][]string) step {
	return step{name, ph, "", func(ctx context.Context, o *op) error {
		var cmds [][]string
		if o.spec.Hooks != nil {
			cmds = pick(o.spec.Hooks)
		}
		if len(cmds) == 0 {
			return skip("no %s hook in ferry.yml", name)
		}
		r := o.state.find(o.to)
		if r == nil || !dirExists(o.l.release(o.to)) {
			return skip("the release was not built")
		}
		for _, argv := range cmds {
			if err := o.runHook(ctx, name, r, argv, o.hookEnv); err != nil {
				return err
			}
		}
		return nil
	}}
}

// runHook runs one command of release r as a hook: with r's venv and
// environment (and extra), in r's directory, its output appended to r's
// log (shared/logs/app-<release>.log); a failure carries the output's
// tail in the result.
func (o *op) runHook(ctx context.Context, name StepName, r *Release, argv []string, extra map[string]string) error {
	timeout := DefaultHookTimeout
	if o.spec.Hooks != nil && o.spec.Hooks.Timeout > 0 {
		timeout = o.spec.Hooks.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env := map[string]string{"FERRY_HOOK": string(name)}
	maps.Copy(env, extra)
	var tail bytes.Buffer
	code, err := o.runIn(ctx, r, literal(argv), env, nil, &tail, "hook "+string(name))
	if err == nil && code == 0 {
		return nil
	}
	shown := truncate(strings.Join(argv, " "), 60)
	o.res.LogTail = text.LastLines(tail.String(), 30)
	hint := "the hook's output is in shared/logs/app-" + r.ID + ".log (and in the log tail above)"
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fail.Hint(fmt.Errorf("%s timed out after %s", shown, timeout), "raise hooks.timeout in ferry.yml, or find what the command waits for; "+hint)
	case err != nil:
		return fail.Hint(fmt.Errorf("%s: %w", shown, err), "check that the program is installed in the release's venv (requirements) or on the server's PATH")
	}
	return fail.Hint(fmt.Errorf("%s exited with status %d", shown, code), hint)
}

// literal writes an argument vector in the form startcmd.Words gives
// (a dollar sign doubled): a hook or an exec'd command is run as written,
// variables and all, never expanded by ferry or a shell.
func literal(argv []string) []string {
	out := make([]string, len(argv))
	for i, w := range argv {
		out[i] = strings.ReplaceAll(w, "$", "$$")
	}
	return out
}

// runIn runs words (as startcmd.Words writes them) as release r runs its
// app: its venv's programs, its directory, its variables, ferry's fixed
// ones and extra; stdin from in (nil: none), stdout and stderr to out and
// to r's log, under a header line naming what runs. It returns the
// command's exit status; err is for a command that could not run.
func (o *op) runIn(ctx context.Context, r *Release, words []string, extra map[string]string, in io.Reader, out io.Writer, what string) (int, error) {
	venv := ""
	if r.Venv != "" {
		venv = o.l.venv(r.Venv)
	}
	vars, err := o.appVars(r)
	if err != nil {
		return -1, err
	}
	argv, err := o.command(r, words, venv, vars)
	if err != nil {
		return -1, err
	}
	fixed := o.fixedVars(r)
	maps.Copy(fixed, extra)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if p, err := lookPathIn(argv[0], processEnv(venv, vars, fixed)); err == nil {
		cmd.Path = p
	} else {
		return -1, err
	}
	cmd.Dir = o.l.release(r.ID)
	cmd.Env = processEnv(venv, vars, fixed)
	cmd.Stdin = in
	log, err := os.OpenFile(o.l.appLog(r.ID), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return -1, err
	}
	defer log.Close()
	fmt.Fprintf(log, "== ferry %s at %s: %s\n", what, time.Now().UTC().Format(time.RFC3339), strings.Join(argv, " "))
	w := io.Writer(log)
	if out != nil {
		w = io.MultiWriter(log, out)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = proc.Run(ctx, cmd)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		fmt.Fprintf(log, "== ferry %s exited with status %d\n", what, ee.ExitCode())
		return ee.ExitCode(), nil
	}
	if err != nil {
		fmt.Fprintf(log, "== ferry %s: %v\n", what, err)
		return -1, err
	}
	return 0, nil
}

// lookPathIn finds a bare program name on the PATH the command gets (the
// venv's scripts first), not the agent's own: os/exec would search the
// agent's.
func lookPathIn(name string, env []string) (string, error) {
	if strings.ContainsAny(name, `/\`) {
		return name, nil
	}
	p, err := proc.LookPathIn(name, proc.PathOf(env))
	if err != nil {
		return "", fmt.Errorf("%s is not in the release's venv nor on the server's PATH", name)
	}
	return p, nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
