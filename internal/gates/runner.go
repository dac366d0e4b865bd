package gates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options are the facts about the app that ferry.yml's `gates:` section
// does not hold.
type Options struct {
	// AppDir is the app's directory; every tool runs there.
	AppDir string
	// Python is the app's interpreter (a virtualenv's bin/python); "" finds
	// one: AppDir/.venv, AppDir/venv, else python3 on PATH. Every gate
	// runs its tools with it (see the package doc).
	Python string
	// Env holds extra variables the env gate and the tools see (ferry.yml's
	// non-secret env); the process environment counts too, and Env wins.
	Env map[string]string
	// Requirements is the requirements file relative to AppDir; default
	// requirements.txt.
	Requirements string
	// Start is the app's start command as ferry.yml gives it (e.g.
	// `gunicorn -w 2 "pkg:create_app()"`); by default the smoke gate
	// imports the module it serves (pkg, never the server) and checks the
	// app object is there, calling nothing.
	Start string
	// Progress, if set, hears when each gate starts and finishes, for a
	// live terminal display.
	Progress func(Event)
}

// gateSpec is one gate ready to run.
type gateSpec struct {
	name     string
	tool     string // shown when the gate never got to find its tool
	enabled  bool
	blocking bool
	timeout  time.Duration
	// cost orders the start: slow gates first, so the slowest one is not
	// left to run alone at the end.
	cost int
	// probe: the gate asks the app's interpreter which tools it has.
	probe bool
	run   func(ctx context.Context, e *runEnv, r *Result)
}

// Run runs the enabled gates in parallel and returns their report. The
// error is for a run that could not happen (invalid configuration: a
// usage error, see Validate; a missing app directory) or was cancelled, in which case
// the report holds what had finished. Failing gates are not errors: read
// Report.Passed.
func Run(ctx context.Context, cfg Config, opts Options) (*Report, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(FieldPath); err != nil {
		return nil, fmt.Errorf("invalid gates configuration: %w", err)
	}
	e, err := newRunEnv(opts)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(e.tmp)
	// Probes belong to the run: cancelled, and waited for, when it ends.
	runCtx, cancelRun := context.WithCancel(ctx)
	e.ctx = runCtx
	defer func() {
		cancelRun()
		e.probeWG.Wait()
	}()
	e.trace = traceFor(e.appDir)

	specs := buildSpecs(&cfg)
	// What the gates wait for before starting their tools, the walk of the
	// app and the interpreter's probe, starts now, side by side, rather
	// than inside the first gate that needs it while the others wait.
	e.probeWG.Add(1)
	go func() {
		defer e.probeWG.Done()
		_, _ = e.appTree()
	}()
	if e.python != "" {
		for _, s := range specs {
			if s.enabled && s.probe {
				e.startProbe(e.python)
				break
			}
		}
	}
	rep := &Report{Started: time.Now(), AppDir: e.appDir, Python: e.python}
	results := make([]Result, len(specs))

	var progressMu sync.Mutex
	emit := func(ev Event) {
		if opts.Progress == nil {
			return
		}
		progressMu.Lock()
		defer progressMu.Unlock()
		opts.Progress(ev)
	}

	parallel := cfg.Parallel
	if parallel == 0 {
		parallel = runtime.NumCPU()
	}
	e.cores = max(1, runtime.NumCPU()/parallel)
	sem := make(chan struct{}, parallel)
	order := make([]int, len(specs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return specs[order[a]].cost > specs[order[b]].cost })

	var wg sync.WaitGroup
	for _, i := range order {
		s := specs[i]
		results[i] = Result{Name: s.name, Tool: s.tool, Blocking: s.blocking}
		if !s.enabled {
			results[i].Status = StatusSkipped
			results[i].Summary = "disabled"
			continue
		}
		// Acquire in start order, so the costly gates take the first slots.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].Status = StatusSkipped
			results[i].Summary = "cancelled before it started"
			continue
		}
		wg.Add(1)
		go func(i int, s gateSpec) {
			defer wg.Done()
			defer func() { <-sem }()
			emit(Event{Kind: EventStarted, Gate: s.name})
			r := &results[i]
			runGate(ctx, e, s, r)
			done := *r
			emit(Event{Kind: EventFinished, Gate: s.name, Result: &done})
		}(i, s)
	}
	wg.Wait()

	rep.Gates = results
	rep.Duration = time.Since(rep.Started)
	rep.Passed = true
	for _, g := range rep.Gates {
		if g.Blocks() {
			rep.Passed = false
		}
	}
	if err := ctx.Err(); err != nil {
		rep.Passed = false
		return rep, fmt.Errorf("check cancelled: %w", err)
	}
	return rep, nil
}

// runGate runs one gate under its timeout and settles its final status.
func runGate(ctx context.Context, e *runEnv, s gateSpec, r *Result) {
	start := time.Now()
	gctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	func() {
		defer func() {
			// A bug in one parser must not take the other gates' results down.
			if p := recover(); p != nil {
				r.Status = StatusError
				r.Summary = fmt.Sprintf("internal error: %v", p)
				r.Hint = "this is a bug in ferry; please report it with the output above"
			}
		}()
		s.run(gctx, e, r)
	}()
	r.Duration = time.Since(start)

	switch {
	case ctx.Err() != nil:
		r.Status = StatusError
		r.Summary = "cancelled"
		r.Hint = ""
	case errors.Is(gctx.Err(), context.DeadlineExceeded) && r.Status != StatusPassed:
		r.Status = StatusTimeout
		r.Summary = fmt.Sprintf("timed out after %s", s.timeout)
		r.Hint = fmt.Sprintf("raise gates.%s.timeout or make the gate faster", s.name)
	case r.Status == StatusFailed && !s.blocking:
		r.Status = StatusWarned
	case r.Status == "":
		r.Status = StatusError
		r.Summary = "gate reported no status"
	}
	if r.Status == StatusPassed || r.Status == StatusSkipped {
		r.Output = ""
	} else {
		r.Output = tail(r.Output, 40)
	}
}

func newRunEnv(opts Options) (*runEnv, error) {
	appDir := opts.AppDir
	if appDir == "" {
		appDir = "."
	}
	abs, err := filepath.Abs(appDir)
	if err != nil {
		return nil, fmt.Errorf("app directory: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, fmt.Errorf("app directory %s: %w", abs, err)
	}
	e := &runEnv{appDir: abs, requirements: opts.Requirements, start: opts.Start}
	if e.requirements == "" {
		e.requirements = "requirements.txt"
	}

	e.userEnv = environFrom(withoutCredentials(os.Environ()))
	for k, v := range opts.Env {
		e.userEnv.set(k, v)
	}
	e.toolEnv = e.userEnv.clone()
	path, _ := e.toolEnv.get("PATH")
	e.python, e.pythonErr = findPython(abs, opts.Python, path)
	if e.python != "" {
		e.binDir = filepath.Dir(e.python)
		if root := venvRoot(e.python); root != "" {
			// What `activate` would do, so tools that spawn "python" or
			// "pip" get the app's.
			e.toolEnv.set("VIRTUAL_ENV", root)
			e.toolEnv.set("PATH", e.binDir+string(os.PathListSeparator)+path)
		}
	}
	// Tools must not write bytecode into the app (parallel gates would race
	// on __pycache__) nor colour their output.
	e.toolEnv.set("PYTHONDONTWRITEBYTECODE", "1")
	e.toolEnv.set("PY_COLORS", "0")
	e.toolEnv.set("NO_COLOR", "1")
	e.toolEnv.set("PIP_DISABLE_PIP_VERSION_CHECK", "1")
	e.toolEnv.set("PIP_NO_INPUT", "1")

	e.tmp, err = os.MkdirTemp("", "ferry-check-")
	if err != nil {
		return nil, fmt.Errorf("make scratch directory: %w", err)
	}
	return e, nil
}

func buildSpecs(cfg *Config) []gateSpec {
	specs := make([]gateSpec, 0, len(builtins)+len(cfg.Custom))
	for _, d := range builtins {
		s := d.settings(cfg)
		specs = append(specs, gateSpec{name: d.name, tool: d.tool, enabled: **s.enabled, blocking: **s.blocking,
			// A gate without a timeout of its own (env runs no tool) still has a bound.
			timeout: orDur(*s.timeout, time.Minute), cost: d.cost, probe: d.probe,
			run: func(ctx context.Context, e *runEnv, r *Result) { d.run(ctx, e, cfg, r) }})
	}
	for _, g := range cfg.Custom {
		tool := ""
		if len(g.Command) > 0 {
			tool = filepath.Base(g.Command[0])
		}
		specs = append(specs, gateSpec{name: g.Name, tool: tool, enabled: *g.Enabled, blocking: *g.Blocking, timeout: g.Timeout, cost: 70,
			run: func(ctx context.Context, e *runEnv, r *Result) { runCustomGate(ctx, e, g, r) }})
	}
	return specs
}

// plural writes "1 finding" / "2 findings".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "y") && !strings.HasSuffix(word, "ey") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// relPath turns a tool's file name into a path relative to the app
// directory with forward slashes, as SARIF and annotations want.
func relPath(appDir, p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(appDir, p); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		}
	}
	p = filepath.ToSlash(filepath.Clean(p))
	return strings.TrimPrefix(p, "./")
}
