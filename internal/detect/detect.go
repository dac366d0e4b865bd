// Package detect reads an app repository the way a person setting up
// ferry would, for `ferry init`: how the app starts, where its
// dependencies are declared, and which health endpoint it has, each with
// the file and line it was learned from, so that `ferry init` can say why
// it wrote what it wrote (and a person can correct it).
//
// The CLI's call:
//
//	r, err := detect.Detect(appDir, detect.Options{Platform: "windows"})
//	r.Start.Command  // ferry.yml start:, e.g. python -m waitress --listen=127.0.0.1:8000 --call flaskr:create_app
//	r.Requirements   // ferry.yml requirements: (requirements.txt), or pyproject.toml
//	r.Health         // ferry.yml health.url's path, e.g. /health ("" when none is visible)
//	r.Notes          // what a person should check
//
// Where the start command comes from, first found wins: a Procfile's
// web: line; a waitress-serve, gunicorn, uvicorn or flask command in
// pyproject.toml's scripts (any tool's table) or in the README; else an
// app object (app = Flask(…), FastAPI(…)) or a create_app() factory in
// app.py, wsgi.py, main.py, asgi.py or a package's __init__.py (flat or
// under src/, as in Flask's tutorial). Found commands are rewritten to
// run with the release's interpreter (python -m SERVER), $PORT becomes
// 8000 (ferry runs commands without a shell), flask's development server
// becomes waitress or gunicorn, and gunicorn becomes waitress on Windows,
// where it does not run.
package detect

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/startcmd/appref"
	"github.com/ferryhq/ferry/internal/text"
)

// Options say what the servers run.
type Options struct {
	// Platform is windows (default) or linux: it picks the WSGI server
	// of a proposed start command (waitress on Windows, gunicorn on
	// Linux).
	Platform string
}

// Evidence is where something was learned.
type Evidence struct {
	// File is slash-separated, relative to the app directory.
	File string
	Line int
	// Text is the line as found (trimmed).
	Text string
}

func (e Evidence) String() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Start is the app's start command.
type Start struct {
	// Command is for ferry.yml's start: (no shell; a leading python is
	// the release's virtualenv interpreter).
	Command string
	// Server is waitress, gunicorn, uvicorn, or python (the app serves
	// itself).
	Server string
	// Target is the WSGI/ASGI object: module:app, or module:create_app
	// with Factory set.
	Target  string
	Factory bool
	From    Evidence
}

// Result is what Detect learned.
type Result struct {
	// Start is nil when nothing says how the app starts.
	Start *Start
	// Requirements is the dependency declaration ferry installs:
	// requirements.txt (or requirements/prod.txt, …) or pyproject.toml;
	// "" when there is none.
	Requirements string
	// Dependencies are the names it declares (lower case).
	Dependencies []string
	// DevRequirements are development files found and kept out of the
	// deploy (requirements-dev.txt, …).
	DevRequirements []string
	// Health is a health endpoint's path seen in the source (/health,
	// /healthz or /status, in that preference), "" when none.
	Health     string
	HealthFrom *Evidence
	// Notes are what a person should check, one sentence each.
	Notes []string
}

// Detect reads dir (the app directory).
func Detect(dir string, o Options) (*Result, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, fail.Usage(fmt.Errorf("detect: %s is not a directory", dir), "run ferry init in the app's directory, or give it with --dir")
	}
	switch o.Platform {
	case "":
		o.Platform = "windows"
	case "windows", "linux":
	default:
		return nil, fail.Usage(fmt.Errorf("detect: platform %q is not windows or linux", o.Platform))
	}
	d := &detector{dir: dir, o: o, r: &Result{}}
	if err := d.scan(); err != nil {
		return nil, fail.New(exitcode.Failed, fmt.Errorf("detect: %w", err))
	}
	d.requirements()
	d.start()
	d.health()
	return d.r, nil
}

type detector struct {
	dir string
	o   Options
	r   *Result
	// py are the Python files that are the app's (not tests, not a
	// virtualenv), slash paths, sorted.
	py []string
}

// skipped directories: environments, caches, builds, tests (a test's
// "/health" is not the app's).
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".venv": true, "venv": true, "env": true, ".env": true, "node_modules": true,
	"__pycache__": true, ".tox": true, ".nox": true, "build": true, "dist": true, "site-packages": true,
	"tests": true, "test": true, ".ferry": true, ".mypy_cache": true, ".pytest_cache": true, "docs": true,
}

func (d *detector) scan() error {
	return filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == d.dir {
				return err
			}
			return nil
		}
		rel, _ := filepath.Rel(d.dir, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if p != d.dir && (skipDirs[e.Name()] || strings.HasSuffix(e.Name(), ".egg-info") || strings.Count(rel, "/") >= 4) {
				return filepath.SkipDir
			}
			return nil
		}
		base := e.Name()
		if strings.HasSuffix(base, ".py") && !strings.HasPrefix(base, "test_") && !strings.HasSuffix(base, "_test.py") && base != "conftest.py" {
			d.py = append(d.py, rel)
		}
		return nil
	})
}

func (d *detector) note(format string, args ...any) {
	d.r.Notes = append(d.r.Notes, fmt.Sprintf(format, args...))
}

func (d *detector) read(rel string) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, false
	}
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), true
}

func exists(dir, rel string) bool {
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
	return err == nil && !st.IsDir()
}

// --- dependencies

var (
	runtimeReqs = []string{"requirements.txt", "requirements/production.txt", "requirements/prod.txt", "requirements/base.txt", "requirements/main.txt"}
	devReqs     = []string{"requirements-dev.txt", "dev-requirements.txt", "requirements_dev.txt", "requirements-test.txt", "test-requirements.txt", "requirements/dev.txt", "requirements/development.txt", "requirements/test.txt"}
	reqNameRe   = text.Pattern(`^([A-Za-z0-9][A-Za-z0-9._-]*)`)
)

func (d *detector) requirements() {
	for _, f := range devReqs {
		if exists(d.dir, f) {
			d.r.DevRequirements = append(d.r.DevRequirements, f)
		}
	}
	for _, f := range runtimeReqs {
		if exists(d.dir, f) {
			d.r.Requirements = f
			d.r.Dependencies = d.requirementNames(f, 0)
			break
		}
	}
	if d.r.Requirements == "" {
		if deps, ok := d.pyprojectDependencies(); ok {
			d.r.Requirements = "pyproject.toml"
			d.r.Dependencies = deps
			d.note("dependencies are declared in pyproject.toml's [project] dependencies: the servers install those (the app itself runs from its release, see docs/config.md)")
		}
	}
	if d.r.Requirements == "" {
		d.note("no requirements.txt or pyproject.toml dependencies: the release's virtualenv will be empty")
	}
	if len(d.r.DevRequirements) > 0 {
		d.note("kept out of the deploy: %s (development only)", strings.Join(d.r.DevRequirements, ", "))
	}
	sort.Strings(d.r.Dependencies)
}

// requirementNames reads a requirements file's project names, following
// -r includes one level deep.
func (d *detector) requirementNames(rel string, depth int) []string {
	lines, ok := d.read(rel)
	if !ok {
		return nil
	}
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, " #"); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "-r ") || strings.HasPrefix(l, "--requirement "):
			if depth == 0 {
				inc := strings.TrimSpace(l[strings.Index(l, " "):])
				out = append(out, d.requirementNames(filepath.ToSlash(filepath.Join(filepath.Dir(rel), inc)), 1)...)
			}
		case strings.HasPrefix(l, "-"):
		default:
			if m := reqNameRe().FindString(l); m != "" {
				out = append(out, normalizeName(m))
			}
		}
	}
	return out
}

func normalizeName(n string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(n))
}

func (d *detector) pyproject() (map[string]any, bool) {
	b, err := os.ReadFile(filepath.Join(d.dir, "pyproject.toml"))
	if err != nil {
		return nil, false
	}
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		d.note("pyproject.toml does not parse (%v): it was not read", err)
		return nil, false
	}
	return doc, true
}

func (d *detector) pyprojectDependencies() ([]string, bool) {
	doc, ok := d.pyproject()
	if !ok {
		return nil, false
	}
	project, _ := doc["project"].(map[string]any)
	deps, _ := project["dependencies"].([]any)
	if len(deps) == 0 {
		return nil, false
	}
	var out []string
	for _, x := range deps {
		if s, ok := x.(string); ok {
			if m := reqNameRe().FindString(strings.TrimSpace(s)); m != "" {
				out = append(out, normalizeName(m))
			}
		}
	}
	return out, true
}

func (d *detector) depends(name string) bool {
	for _, n := range d.r.Dependencies {
		if n == name {
			return true
		}
	}
	return false
}

// --- start command

// serverRe finds a server command in a line of prose or configuration.
var serverRe = text.Pattern(`(?:^|[\s"'` + "`" + `$>(=])((?:[A-Z_]+=\S+\s+)*(?:python3?\s+-m\s+)?(waitress-serve|waitress|gunicorn|uvicorn|hypercorn|flask)\s[^` + "`" + `\n]*)`)

func (d *detector) start() {
	if s := d.fromProcfile(); s != nil {
		d.r.Start = s
		return
	}
	if s := d.fromPyproject(); s != nil {
		d.r.Start = s
		return
	}
	if s := d.fromReadme(); s != nil {
		d.r.Start = s
		return
	}
	if s := d.fromSource(); s != nil {
		d.r.Start = s
		return
	}
	d.note("found no start command (Procfile, a server command in pyproject.toml or the README, or an app object or create_app() in app.py, wsgi.py, main.py or a package): set start: in ferry.yml")
}

func (d *detector) fromProcfile() *Start {
	lines, ok := d.read("Procfile")
	if !ok {
		return nil
	}
	for i, l := range lines {
		cmd, found := strings.CutPrefix(strings.TrimSpace(l), "web:")
		if !found {
			continue
		}
		ev := Evidence{File: "Procfile", Line: i + 1, Text: strings.TrimSpace(l)}
		if s := d.fromCommand(strings.TrimSpace(cmd), ev); s != nil {
			return s
		}
		// A web: line that is not a known server (python app.py): as is.
		var argv []string
		if cmds := appref.Split(strings.TrimSpace(cmd), nil); len(cmds) > 0 {
			argv = cmds[0]
		}
		if len(argv) > 0 && (argv[0] == "python" || argv[0] == "python3") {
			return &Start{Command: strings.Join(replacePort(argv), " "), Server: "python", From: ev}
		}
		d.note("%s: web: %q is not a command ferry recognises: check start: in ferry.yml", ev, strings.TrimSpace(cmd))
		return &Start{Command: strings.Join(replacePort(argv), " "), Server: "unknown", From: ev}
	}
	return nil
}

func (d *detector) fromPyproject() *Start {
	doc, ok := d.pyproject()
	if !ok {
		return nil
	}
	lines, _ := d.read("pyproject.toml")
	var found *Start
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if found != nil {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(path+"."+k, t[k])
			}
		case []any:
			for _, x := range t {
				walk(path, x)
			}
		case string:
			if !strings.Contains(path, "scripts") {
				return
			}
			if m := serverRe().FindStringSubmatch(" " + t); m != nil {
				ev := Evidence{File: "pyproject.toml", Line: lineOf(lines, t), Text: t}
				found = d.fromCommand(strings.TrimSpace(m[1]), ev)
			}
		}
	}
	walk("", doc)
	return found
}

func lineOf(lines []string, s string) int {
	for i, l := range lines {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}

func (d *detector) fromReadme() *Start {
	for _, f := range []string{"README.md", "README.rst", "README.txt", "README", "readme.md"} {
		lines, ok := d.read(f)
		if !ok {
			continue
		}
		for i, l := range lines {
			m := serverRe().FindStringSubmatch(" " + l)
			if m == nil {
				continue
			}
			if s := d.fromCommand(strings.TrimSpace(m[1]), Evidence{File: f, Line: i + 1, Text: strings.TrimSpace(l)}); s != nil {
				return s
			}
		}
	}
	return nil
}

// fromCommand reads a server command through startcmd (the reader the
// smoke gate and the agent use too): its server, target and whether the
// target is a factory, then rewrites it for ferry (see the package
// comment). nil when it names no target ferry can find.
func (d *detector) fromCommand(cmd string, ev Evidence) *Start {
	t := appref.Parse(cmd, nil)
	server := t.Server
	switch server {
	case "waitress-serve":
		server = "waitress"
	case "gunicorn", "uvicorn", "hypercorn":
	case "flask":
		return d.fromFlaskCommand(t, ev)
	default:
		return nil
	}
	if t.Module == "" || t.Attr == "" {
		return nil
	}
	s := &Start{Server: server, Target: t.Module + ":" + t.Attr, Factory: t.Call, From: ev}
	if server == "gunicorn" && d.o.Platform == "windows" {
		d.note("%s runs gunicorn, which does not run on Windows: start: uses waitress instead (add waitress to the requirements)", ev)
		s.Server = "waitress"
		s.Command = d.command(s)
		return s
	}
	s.Command = strings.Join(append([]string{"python", "-m", server}, replacePort(t.Args)...), " ")
	d.checkServerDeclared(s)
	return s
}

func (d *detector) fromFlaskCommand(t appref.Target, ev Evidence) *Start {
	var s *Start
	switch {
	case t.Module != "" && t.Attr != "":
		s = &Start{Target: t.Module + ":" + t.Attr, Factory: t.Call, From: ev}
	case t.Module != "":
		// flask --app flaskr: Flask finds app or create_app in the module.
		mod := t.Module
		if len(t.Dirs) > 0 {
			mod = t.Dirs[0] + "/" + mod
		}
		s = &Start{From: ev}
		if src := d.fromModule(mod); src != nil {
			s.Target, s.Factory = src.Target, src.Factory
		} else {
			s.Target, s.Factory = t.Module+":create_app", true
		}
	default:
		s = d.fromSource()
		if s == nil {
			return nil
		}
		s.From = ev
	}
	s.Server = d.wsgiServer()
	s.Command = d.command(s)
	d.note("%s runs flask's development server, which is not for production: start: uses %s instead (add it to the requirements if it is missing)", ev, s.Server)
	return s
}

func (d *detector) wsgiServer() string {
	if d.o.Platform == "linux" && !d.depends("waitress") {
		return "gunicorn"
	}
	return "waitress"
}

// command writes a start command for s's server and target.
func (d *detector) command(s *Start) string {
	switch s.Server {
	case "waitress":
		if s.Factory {
			return "python -m waitress --listen=127.0.0.1:8000 --call " + s.Target
		}
		return "python -m waitress --listen=127.0.0.1:8000 " + s.Target
	case "gunicorn":
		if s.Factory {
			return "python -m gunicorn --bind 127.0.0.1:8000 '" + s.Target + "()'"
		}
		return "python -m gunicorn --bind 127.0.0.1:8000 " + s.Target
	case "uvicorn":
		if s.Factory {
			return "python -m uvicorn --factory " + s.Target + " --host 127.0.0.1 --port 8000"
		}
		return "python -m uvicorn " + s.Target + " --host 127.0.0.1 --port 8000"
	}
	return ""
}

func (d *detector) checkServerDeclared(s *Start) {
	if s.Server == "python" || d.r.Requirements == "" || d.depends(s.Server) {
		return
	}
	d.note("start: runs %s, which %s does not declare: add it, or the release's virtualenv will not have it", s.Server, d.r.Requirements)
}

var (
	appObjRe  = text.Pattern(`^([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*\w+\s*)?=\s*(Flask|FastAPI|Starlette|Quart|Sanic|Litestar|Bottle|Falcon|falcon\.App|falcon\.asgi\.App|flask\.Flask|fastapi\.FastAPI)\s*\(`)
	factoryRe = text.Pattern(`^(?:async\s+)?def\s+(create_app|make_app|app_factory)\s*\(`)
	djangoRe  = text.Pattern(`^application\s*=\s*get_(wsgi|asgi)_application\(`)
	mainRe    = text.Pattern(`^if\s+__name__\s*==\s*["']__main__["']\s*:`)
	asgiKinds = map[string]bool{"FastAPI": true, "fastapi.FastAPI": true, "Starlette": true, "Quart": true, "Litestar": true, "falcon.asgi.App": true}
)

// fromSource looks for the app object or factory in the usual files,
// then in any package's __init__.py (Flask's tutorial: flaskr/ or
// src/flaskr/).
func (d *detector) fromSource() *Start {
	candidates := []string{"app.py", "wsgi.py", "asgi.py", "main.py", "application.py", "server.py", "src/app.py", "src/wsgi.py", "src/main.py"}
	for _, f := range candidates {
		if s := d.fromFile(f); s != nil {
			return s
		}
	}
	for _, f := range d.py {
		if strings.HasSuffix(f, "/__init__.py") && strings.Count(f, "/") <= 2 {
			if s := d.fromFile(f); s != nil {
				return s
			}
		}
	}
	for _, f := range d.py {
		if strings.HasSuffix(f, "/wsgi.py") || strings.HasSuffix(f, "/asgi.py") {
			if s := d.fromFile(f); s != nil {
				return s
			}
		}
	}
	return nil
}

// fromModule finds the app in a module named like flask --app's value.
func (d *detector) fromModule(mod string) *Start {
	p := strings.ReplaceAll(mod, ".", "/")
	for _, f := range []string{p + ".py", p + "/__init__.py", "src/" + p + ".py", "src/" + p + "/__init__.py"} {
		if s := d.fromFile(f); s != nil {
			return s
		}
	}
	return nil
}

// module is a file's import name: src/ is a layout, not a package.
func module(rel string) string {
	m := strings.TrimSuffix(strings.TrimPrefix(rel, "src/"), ".py")
	m = strings.TrimSuffix(m, "/__init__")
	return strings.ReplaceAll(m, "/", ".")
}

func (d *detector) fromFile(rel string) *Start {
	lines, ok := d.read(rel)
	if !ok {
		return nil
	}
	var main *Evidence
	for i, l := range lines {
		ev := Evidence{File: rel, Line: i + 1, Text: strings.TrimSpace(l)}
		if m := appObjRe().FindStringSubmatch(l); m != nil {
			s := &Start{Target: module(rel) + ":" + m[1], From: ev, Server: d.wsgiServer()}
			if asgiKinds[m[2]] {
				s.Server = "uvicorn"
			}
			s.Command = d.command(s)
			d.srcLayout(rel)
			d.checkServerDeclared(s)
			return s
		}
		if m := factoryRe().FindStringSubmatch(l); m != nil {
			s := &Start{Target: module(rel) + ":" + m[1], Factory: true, From: ev, Server: d.wsgiServer()}
			if d.depends("fastapi") || d.depends("starlette") {
				s.Server = "uvicorn"
			}
			s.Command = d.command(s)
			d.srcLayout(rel)
			d.checkServerDeclared(s)
			return s
		}
		if djangoRe().MatchString(l) {
			s := &Start{Target: module(rel) + ":application", From: ev, Server: d.wsgiServer()}
			if strings.Contains(l, "asgi") {
				s.Server = "uvicorn"
			}
			s.Command = d.command(s)
			d.checkServerDeclared(s)
			return s
		}
		if mainRe().MatchString(l) && main == nil {
			e := ev
			main = &e
		}
	}
	// A script that serves itself (the stdlib's http.server, say).
	if main != nil && !strings.Contains(rel, "/") {
		return &Start{Command: "python " + rel, Server: "python", From: *main}
	}
	return nil
}

func (d *detector) srcLayout(rel string) {
	if strings.HasPrefix(rel, "src/") {
		d.note("%s is under src/: the release must import it, so install the project (pip install .) or add src/ to PYTHONPATH in ferry.yml's env", rel)
	}
}

// --- health endpoint

var healthRe = text.Pattern(`["'](/(?:health|healthz|status))/?["']`)

func (d *detector) health() {
	best, bestRank := "", 99
	var from *Evidence
	rank := map[string]int{"/health": 0, "/healthz": 1, "/status": 2}
	for _, f := range d.py {
		lines, _ := d.read(f)
		for i, l := range lines {
			for _, m := range healthRe().FindAllStringSubmatch(l, -1) {
				if r := rank[m[1]]; r < bestRank {
					best, bestRank = m[1], r
					from = &Evidence{File: f, Line: i + 1, Text: strings.TrimSpace(l)}
				}
			}
		}
	}
	if best == "" {
		d.note("no /health, /healthz or /status route in the source: add one (it should answer 200 once the app can serve), or set health.url to a page that does")
		return
	}
	d.r.Health, d.r.HealthFrom = best, from
}

var portRe = text.Pattern(`\$\{?PORT\}?`)

// replacePort makes $PORT 8000 (ferry runs start: without a shell) and
// quotes words that need it again.
func replacePort(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		a = portRe().ReplaceAllString(a, "8000")
		if strings.ContainsAny(a, " ()") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
