package gates

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

// runEnv is what every gate of one run shares: where the app is, which
// interpreter and environment its tools get, and a scratch directory.
type runEnv struct {
	appDir string
	// python is the app's interpreter; "" when none was found (pythonErr says why).
	python    string
	pythonErr error
	// binDir is the interpreter's directory: a virtualenv's bin, where its
	// tools live, or e.g. /usr/bin for a system interpreter.
	binDir string
	// toolEnv is what the tools run with; userEnv is what the app would see
	// (the process environment plus Options.Env), for the env gate.
	toolEnv envMap
	userEnv envMap
	// requirements is the requirements file, relative to appDir.
	requirements string
	start        string
	tmp          string
	// cores is each gate's share of the machine: the CPUs over the gates
	// run at once, at least 1. Tools that would start a worker per CPU
	// get this many instead.
	cores int

	// ctx is the run's: probes started for one gate outlive its timeout,
	// since other gates wait for the same answer.
	ctx     context.Context
	probeMu sync.Mutex
	probes  map[string]*probeCall
	// probeWG counts the probes and the walk of the app that Run started,
	// which it waits for before it returns.
	probeWG sync.WaitGroup

	treeOnce sync.Once
	tree     *appTree
	treeErr  error

	// trace, when set (by tests only, see execTraces), hears every tool
	// the run starts and all it printed.
	trace func(argv []string, res procResult)
}

// appTree walks the app directory once per run, for every gate.
func (e *runEnv) appTree() (*appTree, error) {
	e.treeOnce.Do(func() {
		e.tree, e.treeErr = scanTree(e.appDir)
		if e.treeErr != nil {
			e.treeErr = fmt.Errorf("read app directory: %w", e.treeErr)
		}
	})
	return e.tree, e.treeErr
}

// findPython picks the app's interpreter: the one given, else the app's own
// virtualenv (.venv, venv), else python3 on PATH.
func findPython(appDir, given, pathList string) (string, error) {
	if given != "" {
		p := given
		if !filepath.IsAbs(p) && strings.ContainsAny(p, `/\`) {
			p = filepath.Join(appDir, p)
		}
		found, err := proc.LookPathIn(p, pathList)
		if err != nil {
			return "", fmt.Errorf("python %q: %w", given, err)
		}
		return found, nil
	}
	for _, venv := range []string{".venv", "venv"} {
		for _, name := range pythonNames {
			if p, ok := proc.Executable(filepath.Join(appDir, venv, venvBinDir, name)); ok {
				return p, nil
			}
		}
	}
	for _, name := range pythonNames {
		if p, err := proc.LookPathIn(name, pathList); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("python: %w", proc.ErrNotFound)
}

// venvRoot returns the virtualenv that holds the interpreter, or "".
func venvRoot(python string) string {
	root := filepath.Dir(filepath.Dir(python))
	if _, err := os.Stat(filepath.Join(root, "pyvenv.cfg")); err == nil {
		return root
	}
	return ""
}

// findTool looks for a console script beside the app's interpreter first,
// then on the tools' PATH: a virtualenv's own flake8 knows the app's
// dependencies, a global one does not.
func (e *runEnv) findTool(name string) (string, error) {
	if e.binDir != "" {
		if p, ok := proc.Executable(filepath.Join(e.binDir, name)); ok {
			return p, nil
		}
	}
	path, _ := e.toolEnv.get("PATH")
	return proc.LookPathIn(name, path)
}

// gateTmp makes a scratch directory for one gate's report files.
func (e *runEnv) gateTmp(gate string) (string, error) {
	dir, err := os.MkdirTemp(e.tmp, gate+"-")
	if err != nil {
		return "", fmt.Errorf("make scratch directory: %w", err)
	}
	return dir, nil
}

// exec runs a tool in the app directory with the tools' environment plus extra.
func (e *runEnv) exec(ctx context.Context, argv []string, extra map[string]string) (procResult, error) {
	env := e.toolEnv
	if len(extra) > 0 {
		env = env.clone()
		for k, v := range extra {
			env.set(k, v)
		}
	}
	res, err := runProc(ctx, e.appDir, env.list(), argv)
	if e.trace != nil {
		e.trace(argv, res)
	}
	return res, err
}

// pythonProbe is what one interpreter has to offer the gates.
type pythonProbe struct {
	Version string          `json:"version"`
	Modules map[string]bool `json:"modules"`
}

// probeScript asks an interpreter which of the modules named in argv it can
// import, without importing them (find_spec runs no module code).
const probeScript = `import importlib.util, json, sys
mods = {}
for m in sys.argv[1:]:
    try:
        mods[m] = importlib.util.find_spec(m) is not None
    except Exception:
        mods[m] = False
print(json.dumps({"version": sys.version.split()[0], "modules": mods}))
`

// probedModules are the tool modules the gates may run as
// `<python> -m MODULE`.
var probedModules = []string{"pytest", "pytest_cov", "pip", "pip_audit", "safety", "flake8", "pylint", "bandit"}

// probeCall is one interpreter's probe, started once per run and awaited
// by every gate that needs it.
type probeCall struct {
	done chan struct{}
	p    *pythonProbe
	err  error
}

// startProbe starts asking python what it has, unless a gate already did:
// Run starts the app interpreter's probe before any gate, so it overlaps
// the first tools' start instead of delaying the gates that need it.
func (e *runEnv) startProbe(python string) *probeCall {
	e.probeMu.Lock()
	defer e.probeMu.Unlock()
	if c, ok := e.probes[python]; ok {
		return c
	}
	if e.probes == nil {
		e.probes = map[string]*probeCall{}
	}
	c := &probeCall{done: make(chan struct{})}
	e.probes[python] = c
	ctx := e.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	e.probeWG.Add(1)
	go func() {
		defer e.probeWG.Done()
		defer close(c.done)
		c.p, c.err = e.runProbe(ctx, python)
	}()
	return c
}

// probe waits for python's probe (see startProbe).
func (e *runEnv) probe(ctx context.Context, python string) (*pythonProbe, error) {
	c := e.startProbe(python)
	select {
	case <-c.done:
		return c.p, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *runEnv) runProbe(ctx context.Context, python string) (*pythonProbe, error) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	argv := append([]string{python, "-c", probeScript}, probedModules...)
	res, err := e.exec(pctx, argv, nil)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", python, err)
	}
	var p pythonProbe
	if res.ExitCode != 0 || json.Unmarshal(res.Stdout, &p) != nil {
		return nil, fmt.Errorf("probe %s: exit status %d: %s", python, res.ExitCode, tail(res.Output, 5))
	}
	return &p, nil
}

// pythonTool finds a Python tool the way every gate does: the console
// script beside the app's interpreter (a virtualenv's own), else
// `<python> -m module` when the app's interpreter can import it (a venv
// made with --system-site-packages, whose tools live in /usr/bin), else
// the console script on PATH. Run by the app's interpreter, a tool sees
// the app's dependencies: pylint does not take them for import errors,
// pip-audit audits the app's environment. It returns the command that
// runs the tool, and makes it the result's Tool; or it settles the gate
// as missing with install as the hint.
func (e *runEnv) pythonTool(ctx context.Context, r *Result, name, module, install string) ([]string, bool) {
	if e.binDir != "" {
		if p, ok := proc.Executable(filepath.Join(e.binDir, name)); ok {
			r.Tool = p
			return []string{p}, true
		}
	}
	if e.python != "" && module != "" {
		if p, err := e.probe(ctx, e.python); err == nil && p.Modules[module] {
			r.Tool = e.python + " -m " + module
			return []string{e.python, "-m", module}, true
		}
	}
	path, _ := e.toolEnv.get("PATH")
	p, err := proc.LookPathIn(name, path)
	if err != nil {
		missingTool(r, name, install)
		return nil, false
	}
	r.Tool = p
	return []string{p}, true
}

// scriptInterpreter reads the #! line of a console script, so ferry can ask
// the interpreter behind a PATH tool (say /usr/bin/pytest) what it has.
func (e *runEnv) scriptInterpreter(script string) string {
	f, err := os.Open(script)
	if err != nil {
		return ""
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" || !strings.HasPrefix(line, "#!") {
		return ""
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return ""
	}
	interp := fields[0]
	if filepath.Base(interp) == "env" && len(fields) > 1 {
		path, _ := e.toolEnv.get("PATH")
		p, err := proc.LookPathIn(fields[len(fields)-1], path)
		if err != nil {
			return ""
		}
		return p
	}
	return interp
}

// importPath is the PYTHONPATH for gates that import the app (smoke,
// tests): dirs (relative to the app, from the start command), then src/
// when the app uses a src layout, as an editable install or pytest's
// pythonpath = src would provide, then what the environment already had.
// "" when there is nothing to add.
func (e *runEnv) importPath(dirs []string) string {
	if tree, err := e.appTree(); err == nil && tree.layout.Src != "" {
		dirs = append(append([]string{}, dirs...), tree.layout.Src)
	}
	if len(dirs) == 0 {
		return ""
	}
	var parts []string
	seen := map[string]bool{}
	for _, d := range dirs {
		p := d
		if !filepath.IsAbs(p) {
			p = filepath.Join(e.appDir, filepath.FromSlash(d))
		}
		if !seen[p] {
			seen[p] = true
			parts = append(parts, p)
		}
	}
	if old, ok := e.toolEnv.get("PYTHONPATH"); ok && old != "" {
		parts = append(parts, old)
	}
	return strings.Join(parts, string(os.PathListSeparator))
}

// execTraces holds, by app directory, functions that hear every tool a run
// in that directory starts and all it printed. Only tests register them:
// they read the tools' verbose output (which files flake8 and bandit
// walked) that a passing gate's result does not keep.
var execTraces sync.Map

func traceFor(appDir string) func(argv []string, res procResult) {
	if f, ok := execTraces.Load(appDir); ok {
		return f.(func(argv []string, res procResult))
	}
	return nil
}
