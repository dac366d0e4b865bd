// Package appref reads which server a start command runs (gunicorn,
// waitress-serve, uvicorn, flask, python app.py, pythonw.exe app.py...)
// and the app it serves. The smoke gate, ferry init's detection and the
// config check read start: through it, so they never disagree about what
// a command means. It is apart from startcmd, which the agent links,
// because its patterns are regular expressions: the agent carries none.
package appref

import (
	"path"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

// Target is what an app's start command serves: the server, the module
// the server imports, the app object in it, and the directories the
// server imports from. Nothing is ever called: an app factory such as
// create_app() may need the production database.
type Target struct {
	// Server is the program ferry knows the command runs, by its canonical
	// name (gunicorn, waitress-serve, uvicorn, flask…; python for a script
	// or the app's own module run with -m); "" when ferry does not know it.
	Server string
	// Args are the server's own arguments: what follows its program name,
	// or python -m NAME.
	Args []string
	// Module is the dotted module the server imports; "" when the command
	// does not say (a shell script, a config file naming the app).
	Module string
	// Attr is the app object's dotted name in Module, "" when the server
	// finds it by itself (gunicorn app, flask --app app, python -m pkg).
	Attr string
	// Call is set when the command calls Attr (an app factory,
	// "pkg:create_app()", or waitress-serve --call): it must be callable.
	Call bool
	// Dirs are directories, relative to the app, that the server puts
	// first on the import path: gunicorn --chdir and --pythonpath, uvicorn
	// --app-dir, a script's own directory (python src/app.py).
	Dirs []string
	// Guessed is set when the command's program is not one ferry knows:
	// the module is whatever looked like an app reference, and the gate
	// uses it only when the app holds that module.
	Guessed bool
}

// server describes how a Python web server's command line names the app.
type server struct {
	// flags take no value; every other option does, as the next word when
	// not written with "=" (--bind :8000, -w 2, --port=$PORT).
	flags map[string]bool
	// positional: the first word that is not an option is the app
	// reference (flask's is its subcommand, run).
	positional bool
	app        []string // options whose value is the app reference
	file       []string // options whose value is a script
	dir        []string // options whose value is the directory the app is imported from
	paths      []string // options whose value lists import directories, comma-separated
	call       []string // flags that make the server call the app object (a factory)
	env        string   // the variable naming the app when no option does
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// servers are the programs ferry reads start commands of, by program name
// and by the module `python -m` runs.
var servers = map[string]server{
	"gunicorn": {positional: true, dir: []string{"--chdir"}, paths: []string{"--pythonpath"},
		flags: set("--reload", "--spew", "--check-config", "--print-config", "--preload", "--no-sendfile",
			"--reuse-port", "-D", "--daemon", "--initgroups", "--capture-output", "-R", "--enable-stdio-inheritance",
			"--strip-header-spaces", "--suppress-ragged-eofs", "--do-handshake-on-connect", "--proxy-protocol",
			"--disable-redirect-access-to-syslog", "--permit-unconventional-http-method",
			"--permit-unconventional-http-version", "--casefold-http-method", "--no-control-socket",
			"-v", "--version", "-h", "--help")},
	"uvicorn": {positional: true, dir: []string{"--app-dir"}, call: []string{"--factory"},
		flags: set("--reload", "--factory", "--use-colors", "--no-use-colors", "--access-log", "--no-access-log",
			"--proxy-headers", "--no-proxy-headers", "--server-header", "--no-server-header", "--date-header",
			"--no-date-header", "--version", "--help")},
	"hypercorn": {positional: true,
		flags: set("--debug", "--reload", "--verbose", "-h", "--help", "--version")},
	"waitress-serve": {positional: true, app: []string{"--app"}, call: []string{"--call"},
		flags: set("--call", "--ipv4", "--ipv6", "--no-ipv4", "--no-ipv6", "--expose-tracebacks",
			"--no-expose-tracebacks", "--log-untrusted-proxy-headers", "--no-log-untrusted-proxy-headers",
			"-h", "--help")},
	"flask": {app: []string{"--app", "-A"}, env: "FLASK_APP",
		flags: set("--debug", "--no-debug", "--reload", "--no-reload", "--debugger", "--no-debugger",
			"--with-threads", "--without-threads", "--eager-loading", "--lazy-loading", "--version", "--help")},
	"daphne": {positional: true, flags: set("--proxy-headers", "-h", "--help")},
	"granian": {positional: true, dir: []string{"--working-dir"}, call: []string{"--factory"},
		flags: set("--reload", "--factory", "--no-ws", "--log", "--no-log", "--access-log", "--no-access-log",
			"--respawn-failed-workers", "--help", "--version")},
	"uwsgi": {app: []string{"--module", "-w", "--wsgi"}, file: []string{"--wsgi-file", "--file"},
		dir: []string{"--chdir"}, paths: []string{"--pythonpath", "--pp"},
		flags: set("--master", "-M", "--enable-threads", "-T", "--die-on-term", "--lazy-apps", "--vacuum",
			"--single-interpreter", "--need-app", "--strict", "--help", "--version")},
}

// pythonModuleServers maps `python -m NAME` to the server it runs.
var pythonModuleServers = map[string]string{
	"gunicorn": "gunicorn", "uvicorn": "uvicorn", "hypercorn": "hypercorn", "waitress": "waitress-serve",
	"flask": "flask", "daphne": "daphne", "granian": "granian",
}

var (
	moduleNameRe = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	identRe      = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// appRefRe is a server's app reference: module, then optionally :name,
	// :dotted.name or :factory(args).
	appRefRe = text.Pattern(`^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?::([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(\(.*\))?)?$`)
	pythonRe = text.Pattern(`^(python|pythonw|pypy)[0-9.]*$`)
	assignRe = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// Parse reads a start command as ferry.yml gives it. getenv answers
// for variables the command uses ($FLASK_APP, ${APP_MODULE}); variables
// it does not know are left as written, which is harmless in the option
// values they usually are ($PORT).
func Parse(start string, getenv func(string) (string, bool)) Target {
	return targetOf(Split(start, getenv), getenv, 0)
}

// targetOf is the target of the last of cmds that names one (the server
// comes last: migrations and the like run first), with the directories
// earlier `cd DIR` commands moved to.
func targetOf(cmds [][]string, getenv func(string) (string, bool), depth int) Target {
	var found Target
	base := ""
	for _, words := range cmds {
		if words[0] == "cd" || words[0] == "pushd" {
			if len(words) > 1 {
				base = joinDir(base, words[1])
			}
			continue
		}
		if t := parseCommand(words, getenv, depth); t.Module != "" {
			if base != "" {
				dirs := []string{base}
				for _, d := range t.Dirs {
					dirs = append(dirs, joinDir(base, d))
				}
				t.Dirs = dirs
			}
			found = t
		}
	}
	return found
}

// joinDir joins a directory a command names to the one it runs in, as a
// clean relative path ("" for the app directory itself).
func joinDir(base, dir string) string {
	dir = strings.ReplaceAll(dir, `\`, "/")
	if !path.IsAbs(dir) && base != "" {
		dir = base + "/" + dir
	}
	if dir = path.Clean(dir); dir == "." {
		return ""
	}
	return dir
}

// ProgName is a program's name as the tables know it: the last path
// element, lowercase, without .exe, so C:\app\.venv\Scripts\waitress-serve.exe
// and /usr/bin/gunicorn are found alike.
func ProgName(word string) string {
	if i := strings.LastIndexAny(word, `/\`); i >= 0 {
		word = word[i+1:]
	}
	word = strings.ToLower(word)
	for _, ext := range []string{".exe", ".cmd", ".bat"} {
		word = strings.TrimSuffix(word, ext)
	}
	return word
}

// parseCommand reads one simple command: assignments and wrappers first
// (env, exec, poetry run, ...), then the program and its arguments.
func parseCommand(words []string, getenv func(string) (string, bool), depth int) Target {
	env := map[string]string{}
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		if getenv != nil {
			return getenv(name)
		}
		return "", false
	}
	i := 0
	for i < len(words) {
		w := words[i]
		if assignRe().MatchString(w) {
			k, v, _ := strings.Cut(w, "=")
			env[k] = v
			i++
			continue
		}
		prog := ProgName(w)
		next := func(n int) string {
			if i+n < len(words) {
				return words[i+n]
			}
			return ""
		}
		switch {
		case prog == "exec" || prog == "nohup" || prog == "time" || prog == "command":
			i++
		case prog == "env" || prog == "nice":
			// Their own options; -u NAME, -n N and -C DIR take a value.
			for i++; i < len(words) && strings.HasPrefix(words[i], "-"); i++ {
				if words[i] == "-u" || words[i] == "-n" || words[i] == "-C" {
					i++
				}
			}
		case (prog == "poetry" || prog == "pipenv" || prog == "pdm" || prog == "hatch" || prog == "rye" || prog == "uv") && next(1) == "run":
			i += 2
			for i < len(words) && strings.HasPrefix(words[i], "-") {
				if words[i] == "--" {
					i++
					break
				}
				if !strings.Contains(words[i], "=") && (words[i] == "--with" || words[i] == "--python" || words[i] == "-p" ||
					words[i] == "--env-file" || words[i] == "--project" || words[i] == "--directory" || words[i] == "-e") {
					i++
				}
				i++
			}
		case prog == "newrelic-admin" && next(1) == "run-program":
			i += 2
		case prog == "ddtrace-run" || prog == "opentelemetry-instrument" || prog == "dotenv":
			// Their options come as --name value pairs before the program.
			for i++; i < len(words) && strings.HasPrefix(words[i], "-"); i++ {
				if words[i] == "--" {
					i++
					break
				}
				if !strings.Contains(words[i], "=") && i+1 < len(words) && !strings.HasPrefix(words[i+1], "-") {
					i++
				}
			}
			if prog == "dotenv" && i < len(words) && words[i] == "run" {
				i++
			}
		case (prog == "sh" || prog == "bash" || prog == "dash" || prog == "zsh") && next(1) == "-c" && depth < 3:
			return targetOf(Split(next(2), lookup), lookup, depth+1)
		case prog == "cmd" && strings.EqualFold(next(1), "/c") && depth < 3:
			return targetOf([][]string{words[i+2:]}, lookup, depth+1)
		default:
			args := words[i+1:]
			switch {
			case pythonRe().MatchString(prog) || prog == "py":
				return parsePython(args, lookup)
			case strings.HasSuffix(prog, ".py"):
				// An executable script run by its #! line.
				t := scriptTarget(w)
				t.Server, t.Args = "python", args
				return t
			default:
				if _, ok := servers[prog]; ok {
					return parseServer(prog, args, lookup)
				}
				return guessTarget(args)
			}
		}
	}
	return Target{}
}

// parsePython reads an interpreter's arguments: -m MODULE (a server,
// whose own arguments are read next, or the app's package) or a script.
func parsePython(args []string, getenv func(string) (string, bool)) Target {
	for j := 0; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "-m" || (strings.HasPrefix(a, "-m") && len(a) > 2):
			mod := strings.TrimPrefix(a, "-m")
			rest := args[j+1:]
			if mod == "" {
				if j+1 >= len(args) {
					return Target{}
				}
				mod, rest = args[j+1], args[j+2:]
			}
			if name, ok := pythonModuleServers[mod]; ok {
				return parseServer(name, rest, getenv)
			}
			if moduleNameRe().MatchString(mod) {
				return Target{Server: "python", Args: args, Module: mod}
			}
			return Target{}
		case strings.HasPrefix(a, "-c"), a == "-":
			// Code on the command line or stdin: nothing to name.
			return Target{}
		case a == "-W" || a == "-X" || a == "--check-hash-based-pycs":
			j++
		case a == "--":
		case strings.HasPrefix(a, "-"):
			// -u, -O, -B, -Wd, -Xdev, and the py launcher's -3.12.
		default:
			t := scriptTarget(a)
			t.Server, t.Args = "python", args
			return t
		}
	}
	return Target{}
}

// scriptTarget is the module of a script run as `python dir/app.py`:
// Python puts the script's own directory first on the import path.
func scriptTarget(file string) Target {
	file = strings.ReplaceAll(file, `\`, "/")
	if !strings.HasSuffix(file, ".py") && !strings.HasSuffix(file, ".pyw") {
		return Target{}
	}
	dir, base := path.Split(file)
	mod := strings.TrimSuffix(strings.TrimSuffix(base, ".py"), ".pyw")
	if !identRe().MatchString(mod) {
		return Target{}
	}
	t := Target{Module: mod}
	if d := joinDir("", dir); d != "" {
		t.Dirs = []string{d}
	}
	return t
}

// appRef reads a server's app reference: "pkg.mod", "pkg.mod:app",
// "pkg:create_app()", and for flask --app a path such as src/hello.py.
func appRef(ref string) (Target, bool) {
	mod, attr, hasAttr := strings.Cut(strings.TrimSpace(ref), ":")
	var dirs []string
	if strings.ContainsAny(mod, `/\`) || strings.HasSuffix(mod, ".py") {
		file := strings.TrimRight(mod, `/\`)
		if !strings.HasSuffix(file, ".py") {
			file += ".py"
		}
		s := scriptTarget(file)
		if s.Module == "" {
			return Target{}, false
		}
		mod, dirs = s.Module, s.Dirs
	}
	if hasAttr {
		mod += ":" + attr
	}
	m := appRefRe().FindStringSubmatch(mod)
	if m == nil {
		return Target{}, false
	}
	return Target{Module: m[1], Attr: m[2], Call: m[3] != "", Dirs: dirs}, true
}

// parseServer reads a known server's arguments.
func parseServer(name string, args []string, getenv func(string) (string, bool)) Target {
	s := servers[name]
	var t Target
	var values []string
	found, call := false, false
	take := func(ref string) {
		if r, ok := appRef(ref); ok && !found {
			dirs := t.Dirs
			t = r
			t.Dirs = append(dirs, r.Dirs...)
			found = true
		}
	}
	for j := 0; j < len(args); j++ {
		a := args[j]
		if a == "--" {
			continue
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if s.positional && !found {
				take(a)
			}
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if !hasVal && !strings.HasPrefix(a, "--") && len(a) > 2 && !s.flags[a] {
			// -w4, -b:8000: a short option with its value attached.
			name, val, hasVal = a[:2], a[2:], true
		}
		if s.flags[name] {
			call = call || contains(s.call, name)
			continue
		}
		if !hasVal {
			if j+1 >= len(args) {
				break
			}
			j++
			val = args[j]
		}
		switch {
		case contains(s.app, name):
			take(val)
		case contains(s.file, name):
			if st := scriptTarget(val); st.Module != "" && !found {
				st.Dirs = append(t.Dirs, st.Dirs...)
				t, found = st, true
			}
		case contains(s.dir, name):
			if d := joinDir("", val); d != "" {
				t.Dirs = append(t.Dirs, d)
			}
		case contains(s.paths, name):
			for _, p := range strings.Split(val, ",") {
				if d := joinDir("", p); d != "" {
					t.Dirs = append(t.Dirs, d)
				}
			}
		default:
			values = append(values, val)
		}
	}
	if !found && s.env != "" && getenv != nil {
		if v, ok := getenv(s.env); ok && v != "" {
			take(v)
		}
	}
	if !found {
		// An option ferry does not know to be a flag took the app as its
		// value; an app reference with a colon is still recognisable.
		for _, v := range values {
			if strings.Contains(v, ":") {
				take(v)
			}
		}
	}
	if !found {
		return Target{}
	}
	t.Call = t.Call || (call && t.Attr != "")
	t.Server, t.Args = name, args
	return t
}

// guessTarget reads the arguments of a program ferry does not know: the
// first app reference with a colon, else the first Python script.
func guessTarget(args []string) Target {
	for _, a := range args {
		if strings.Contains(a, ":") {
			if t, ok := appRef(a); ok && t.Attr != "" {
				t.Guessed = true
				return t
			}
		}
	}
	for _, a := range args {
		if t := scriptTarget(a); t.Module != "" {
			t.Guessed = true
			return t
		}
	}
	return Target{}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Split splits a start command into simple commands of words, the
// way a POSIX shell would for words, quotes and the operators && || ; |
// &, without running one. Unlike config.SplitCommand, which refuses shell
// syntax, it accepts whatever a start command may hold: the gate reads it,
// it does not run it. $NAME and ${NAME} are replaced when getenv knows
// them (${NAME:-default} falls back to its default); a backslash outside
// quotes is a plain character, as Windows paths need.
func Split(s string, getenv func(string) (string, bool)) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			endWord()
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0:
					i++
					cur.WriteByte(s[i])
				case s[i] == '$':
					i += expandVar(s[i:], &cur, getenv) - 1
				default:
					cur.WriteByte(s[i])
				}
			}
			inWord = true
		case ch == '$':
			i += expandVar(s[i:], &cur, getenv) - 1
			inWord = true
		case ch == ';' || ch == '|' || ch == '&':
			endCmd()
			for i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '&') {
				i++
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

var varRe = text.Pattern(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expandVar writes the value of the variable s starts with, when known,
// else the text as written, and returns how many bytes it read.
func expandVar(s string, out *strings.Builder, getenv func(string) (string, bool)) int {
	m := varRe().FindStringSubmatchIndex(s)
	if m == nil {
		out.WriteByte('$')
		return 1
	}
	var name string
	if m[2] >= 0 {
		name = s[m[2]:m[3]]
	} else {
		name = s[m[6]:m[7]]
	}
	if getenv != nil {
		if v, ok := getenv(name); ok {
			out.WriteString(v)
			return m[1]
		}
	}
	if m[4] >= 0 {
		out.WriteString(s[m[4]:m[5]])
		return m[1]
	}
	out.WriteString(s[:m[1]])
	return m[1]
}
