package gates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferryhq/ferry/internal/proc"
)

// needPython settles a gate as missing when there is no interpreter.
func needPython(e *runEnv, r *Result) bool {
	if e.python != "" {
		return true
	}
	r.Status = StatusMissing
	r.Tool = "python"
	r.Summary = "no Python interpreter found"
	r.Hint = "create the app's virtualenv in .venv or venv, or set the interpreter ferry should use"
	if e.pythonErr != nil && !errors.Is(e.pythonErr, proc.ErrNotFound) {
		r.Summary = e.pythonErr.Error()
	}
	return false
}

// needTool finds a gate's tool (see findTool) and makes it the result's
// Tool, or settles the gate as missing with install as the hint.
func (e *runEnv) needTool(r *Result, name, install string) (string, bool) {
	path, err := e.findTool(name)
	if err != nil {
		missingTool(r, name, install)
		return "", false
	}
	r.Tool = path
	return path, true
}

// missingTool settles a gate whose tool is not installed.
func missingTool(r *Result, tool, hint string) {
	r.Status = StatusMissing
	r.Tool = tool
	r.Summary = tool + " is not installed"
	r.Hint = hint
}

// runTool runs a gate's tool and keeps its output for the result; a tool
// that could not be run settles the gate (execFailed). Exit codes are the
// caller's to read: tools report findings with them.
func (e *runEnv) runTool(ctx context.Context, r *Result, name string, argv []string, extra map[string]string) (procResult, bool) {
	res, err := e.exec(ctx, argv, extra)
	if err != nil {
		execFailed(r, name, err)
		return res, false
	}
	r.Output = res.Output
	return res, true
}

// toolError settles a gate whose tool misbehaved. hint, when given, says
// what to check; else a hint the gate set earlier stands, else the
// general advice.
func toolError(r *Result, msg, hint string, res procResult) {
	r.Status = StatusError
	r.Summary = msg
	r.Output = res.Output
	switch {
	case hint != "":
		r.Hint = hint
	case r.Hint == "":
		r.Hint = "run the tool by hand in the app directory to see what it needs"
	}
}

// execFailed settles a gate whose tool could not be run.
func execFailed(r *Result, tool string, err error) {
	r.Status = StatusError
	// runGate says how the context ended.
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		r.Summary = fmt.Sprintf("run %s: %v", tool, err)
	}
}

// reportTool is a tool that writes its machine-readable report to a file
// ferry names (bandit, flake8, pylint): ferry reads that, never the
// wording meant for people.
type reportTool struct {
	name    string // the program, and what messages call it
	module  string // the module `python -m` runs it as (see pythonTool)
	install string // the hint when it is not installed
	// paths are what the user asked to check. When there are none and pick
	// is set, pick chooses from the app's top level, and the gate is
	// skipped with nothing as its summary when it chooses none.
	paths   []string
	pick    func(sourceLayout) []string
	nothing string
	// avoid, for a tool that reads whatever lies under the directories it
	// is given, rewrites the targets around the app's ignored directories
	// (appTree.avoid), keeping the subdirectories keepDir accepts.
	avoid   bool
	keepDir func(rel string) bool
	file    string // the report's name in the gate's scratch directory
	// argv is the command line that runs tool (a program, or python -m
	// MODULE) on targets writing report, and the variables it needs; dir is
	// the gate's scratch directory and tree the app's.
	argv func(tool []string, dir, report string, targets []string, tree *appTree) ([]string, map[string]string, error)
	// exitOK, when set, tells the exit codes of a run that went through;
	// others are tool errors.
	exitOK func(code int) bool
	// clean, when set, tells an exit code whose run may leave an empty
	// report or none: nothing found. Else a run without one is an error.
	clean func(code int) bool
	// hint says what to check when the tool exits with an error or
	// without a report.
	hint string
}

// runReportTool finds t's tool, runs it writing its report, and parses the
// report with parse. When it returns false the gate is settled: the tool
// is missing, there is nothing to check, or the tool failed.
func runReportTool[T any](ctx context.Context, e *runEnv, r *Result, t reportTool, parse func(data []byte, appDir string) (T, error)) (rep T, res procResult, ok bool) {
	tool, ok := e.pythonTool(ctx, r, t.name, t.module, t.install)
	if !ok {
		return rep, res, false
	}
	tree, err := e.appTree()
	if err != nil {
		execFailed(r, t.name, err)
		return rep, res, false
	}
	targets := t.paths
	if len(targets) == 0 && t.pick != nil {
		targets = t.pick(tree.layout)
	}
	if t.avoid {
		keepDir := t.keepDir
		if keepDir == nil {
			keepDir = anyDir
		}
		targets = tree.avoid(targets, isPythonFile, keepDir)
	}
	if t.pick != nil && len(targets) == 0 {
		r.Status = StatusSkipped
		r.Summary = t.nothing
		return rep, res, false
	}
	dir, err := e.gateTmp(t.name)
	if err != nil {
		execFailed(r, t.name, err)
		return rep, res, false
	}
	report := filepath.Join(dir, t.file)
	argv, extra, err := t.argv(tool, dir, report, targets, tree)
	if err != nil {
		execFailed(r, t.name, err)
		return rep, res, false
	}
	if res, ok = e.runTool(ctx, r, t.name, argv, extra); !ok {
		return rep, res, false
	}
	if t.exitOK != nil && !t.exitOK(res.ExitCode) {
		toolError(r, fmt.Sprintf("%s exited %d", t.name, res.ExitCode), t.hint, res)
		return rep, res, false
	}
	data, err := os.ReadFile(report)
	if (err != nil || len(data) == 0) && (t.clean == nil || !t.clean(res.ExitCode)) {
		toolError(r, fmt.Sprintf("%s exited %d without a report", t.name, res.ExitCode), t.hint, res)
		return rep, res, false
	}
	if rep, err = parse(data, e.appDir); err != nil {
		toolError(r, err.Error(), "", res)
		return rep, res, false
	}
	return rep, res, true
}
