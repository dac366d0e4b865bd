package agent

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
	"github.com/ferryhq/ferry/internal/startcmd"
	"github.com/ferryhq/ferry/internal/supervise"
)

// appSpec is how release r's app runs: its command with python meaning
// its venv's interpreter, in its directory, with its environment, stopped
// with its own grace. Process mode and every service run exactly this.
func (o *op) appSpec(r *Release) (supervise.Spec, error) {
	id := r.ID
	run := o.runOf(r)
	dir := o.l.release(id)
	venv := ""
	if r.Venv != "" {
		venv = o.l.venv(r.Venv)
	}
	vars, err := o.appVars(r)
	if err != nil {
		return supervise.Spec{}, err
	}
	argv, err := o.command(r, run.Start, venv, vars)
	if err != nil {
		return supervise.Spec{}, fail.Hint(fmt.Errorf("start: %w", err), "set it in env: in ferry.yml or in the env file on the server, or give the command a default: ${NAME:-value}")
	}
	// FERRY_SHA and the like win over the app's variables everywhere; a
	// service, which does not inherit the agent's environment, also gets
	// the venv from ferry rather than from the PATH it finds.
	fixed := o.fixedVars(r)
	own := maps.Clone(fixed)
	if venv != "" {
		own["VIRTUAL_ENV"] = venv
		own["PATH"] = filepath.Dir(pyenv.Interpreter(venv)) + string(os.PathListSeparator) + cmp.Or(os.Getenv("PATH"), defaultPATH)
	}
	return supervise.Spec{
		Process: proc.Spec{Argv: argv, Dir: dir, Env: processEnv(venv, vars, fixed), LogPath: o.l.appLog(id)},
		Release: id, StopTimeout: o.stopTimeoutOf(r),
		Own: own, Vars: vars,
	}, nil
}

// fixedVars are the variables ferry gives every process of release r (the
// app, its hooks, ferry exec): they win over the app's own.
func (o *op) fixedVars(r *Release) map[string]string {
	return map[string]string{
		"FERRY_SHA":         r.SHA,
		"FERRY_RELEASE":     r.ID,
		"FERRY_ENVIRONMENT": o.spec.Environment,
		"PYTHONUNBUFFERED":  "1",
	}
}

// command makes argv (a start command or a hook, as startcmd.Words
// wrote it) the one release r runs: its variables filled in from the
// app's environment and its program resolved to the release's venv
// (startcmd.Resolve: python, pythonw.exe, gunicorn, waitress-serve,
// flask… are the venv's own); a relative path is the release's file.
// $PORT, when the app does not set it, is the port of the health URL.
func (o *op) command(r *Release, words []string, venv string, vars map[string]string) ([]string, error) {
	fixed := o.fixedVars(r)
	argv, err := startcmd.Expand(words, func(name string) (string, bool) {
		if v, ok := fixed[name]; ok {
			return v, true
		}
		if v, ok := vars[name]; ok {
			return v, true
		}
		if name == "PORT" {
			if u, err := url.Parse(o.healthURL(r)); err == nil && u.Port() != "" {
				return u.Port(), true
			}
		}
		return os.LookupEnv(name)
	})
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New("the command is empty")
	}
	dir := o.l.release(r.ID)
	argv = startcmd.Resolve(argv, startcmd.Venv{Dir: venv, Windows: runtime.GOOS == "windows", Exists: fileExists})
	if !filepath.IsAbs(argv[0]) && (strings.ContainsAny(argv[0], `/\`) || (venv == "" && fileExists(filepath.Join(dir, argv[0])))) {
		argv[0] = filepath.Join(dir, filepath.FromSlash(argv[0]))
	}
	return argv, nil
}

// stopTimeoutOf is the grace release r asked for when it was deployed,
// falling back to the spec's.
func (o *op) stopTimeoutOf(r *Release) time.Duration {
	if d := o.runOf(r).StopTimeout; d > 0 {
		return d
	}
	return supervise.DefaultStopTimeout
}

// defaultPATH is the PATH a service's app gets after its venv when the
// agent itself has none.
const defaultPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// appVars are the app's own variables: its env file's, then the
// configured ones, which win.
func (o *op) appVars(r *Release) (map[string]string, error) {
	run := o.runOf(r)
	vars := map[string]string{}
	if run.EnvFile != "" {
		fileVars, err := readEnvFile(filepath.Join(o.l.shared(), filepath.FromSlash(run.EnvFile)))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		maps.Copy(vars, fileVars)
	}
	maps.Copy(vars, run.Vars)
	return vars, nil
}

// processEnv is the environment of an app the agent starts itself: the
// agent's own (PATH, SYSTEMROOT…), the venv first on PATH, the app's
// variables, then ferry's fixed ones, which win.
func processEnv(venv string, vars, fixed map[string]string) []string {
	all := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FERRY_AGENT_") {
			continue
		}
		all[k] = v
	}
	if venv != "" {
		bin := filepath.Dir(pyenv.Interpreter(venv))
		pathKey := "PATH"
		for k := range all {
			if strings.EqualFold(k, "PATH") {
				pathKey = k
			}
		}
		all[pathKey] = bin + string(os.PathListSeparator) + all[pathKey]
		all["VIRTUAL_ENV"] = venv
		delete(all, "PYTHONHOME")
	}
	maps.Copy(all, vars)
	maps.Copy(all, fixed)
	out := make([]string, 0, len(all))
	for k, v := range all {
		out = append(out, k+"="+v)
	}
	return out
}

// readEnvFile reads KEY=VALUE lines (optionally "export ", quotes, #
// comments), the dotenv subset people write by hand.
func readEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !varRe.MatchString(k) {
			return nil, fmt.Errorf("%s:%d: not a KEY=VALUE line", filepath.Base(path), i+1)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, nil
}

// NoPython as the interpreter means the app is not Python (or brings its
// own runtime): no virtualenv, the start command runs as given.
const NoPython = "none"

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
