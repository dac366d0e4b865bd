package gates

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
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

	probeMu sync.Mutex
	probes  map[string]*pythonProbe
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
	return runProc(ctx, e.appDir, env.list(), argv)
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

var probedModules = []string{"pytest", "pytest_cov", "pip"}

// probe asks python once per run which tool modules it has.
func (e *runEnv) probe(ctx context.Context, python string) (*pythonProbe, error) {
	e.probeMu.Lock()
	defer e.probeMu.Unlock()
	if p, ok := e.probes[python]; ok {
		return p, nil
	}
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
	if e.probes == nil {
		e.probes = map[string]*pythonProbe{}
	}
	e.probes[python] = &p
	return &p, nil
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

// skipDirs are directories that never hold the app's own code.
var skipDirs = map[string]bool{
	"venv": true, "env": true, "node_modules": true, "site-packages": true,
	"__pycache__": true, "build": true, "dist": true,
}

func isVenvDir(path string) bool {
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg"))
	return err == nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// sourceLayout is the app's top level as the linters see it.
type sourceLayout struct {
	Files    []string // top-level *.py
	Packages []string // directories with __init__.py
	Dirs     []string // other directories holding Python files
}

// discoverSources lists the app's top-level Python files and directories,
// leaving out virtualenvs, hidden and build directories.
func discoverSources(appDir string) (sourceLayout, error) {
	var l sourceLayout
	entries, err := os.ReadDir(appDir)
	if err != nil {
		return l, fmt.Errorf("read app directory: %w", err)
	}
	for _, ent := range entries {
		name := ent.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(appDir, name)
		switch {
		case !ent.IsDir() && strings.HasSuffix(name, ".py"):
			l.Files = append(l.Files, name)
		case ent.IsDir():
			if skipDirs[name] || strings.HasSuffix(name, ".egg-info") || isVenvDir(full) {
				continue
			}
			if _, err := os.Stat(filepath.Join(full, "__init__.py")); err == nil && identRe.MatchString(name) {
				l.Packages = append(l.Packages, name)
			} else if hasPython(full, 3) {
				l.Dirs = append(l.Dirs, name)
			}
		}
	}
	sort.Strings(l.Files)
	sort.Strings(l.Packages)
	sort.Strings(l.Dirs)
	return l, nil
}

func hasPython(dir string, depth int) bool {
	entries, err := os.ReadDir(dir)
	if err != nil || depth == 0 {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".py") {
			return true
		}
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !skipDirs[e.Name()] && hasPython(filepath.Join(dir, e.Name()), depth-1) {
			return true
		}
	}
	return false
}

// all lists every file and directory, for tools that walk directories.
func (l sourceLayout) all() []string {
	out := append([]string{}, l.Files...)
	out = append(out, l.Packages...)
	return append(out, l.Dirs...)
}

// isTestModule tells test code from app code by pytest's naming rules.
func isTestModule(name string) bool {
	base := strings.TrimSuffix(name, ".py")
	return strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test") || base == "conftest" ||
		base == "tests" || base == "test"
}

// appModules are the importable top-level modules of the app, tests and
// packaging scripts left out: what the smoke gate imports by default.
func (l sourceLayout) appModules() []string {
	var mods []string
	for _, f := range l.Files {
		base := strings.TrimSuffix(f, ".py")
		if isTestModule(f) || base == "setup" || base == "noxfile" || !identRe.MatchString(base) {
			continue
		}
		mods = append(mods, base)
	}
	for _, p := range l.Packages {
		if !isTestModule(p) {
			mods = append(mods, p)
		}
	}
	return mods
}

var wsgiRefRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):[A-Za-z_][A-Za-z0-9_.]*(\(.*\))?$`)

// startModule finds the module a start command serves, in the forms web
// apps are started: "gunicorn app:app", "uvicorn pkg.main:app",
// "python -m pkg", "python app.py".
func startModule(start string) string {
	fields := strings.Fields(start)
	for i, f := range fields {
		f = strings.Trim(f, `"'`)
		switch {
		case f == "-m" && i+1 < len(fields):
			return strings.Trim(fields[i+1], `"'`)
		case strings.HasSuffix(f, ".py") && i > 0:
			mod := strings.TrimSuffix(filepath.ToSlash(f), ".py")
			mod = strings.TrimPrefix(mod, "./")
			if mod = strings.ReplaceAll(mod, "/", "."); moduleNameRe.MatchString(mod) {
				return mod
			}
		case wsgiRefRe.MatchString(f):
			return wsgiRefRe.FindStringSubmatch(f)[1]
		}
	}
	return ""
}
