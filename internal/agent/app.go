package agent

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/pyenv"
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
	argv := append([]string(nil), run.Start...)
	switch {
	case venv == "":
		if !filepath.IsAbs(argv[0]) && (strings.ContainsAny(argv[0], `/\`) || fileExists(filepath.Join(dir, argv[0]))) {
			argv[0] = filepath.Join(dir, filepath.FromSlash(argv[0]))
		}
	case argv[0] == "python" || argv[0] == "python3":
		argv[0] = pyenv.Interpreter(venv)
	case argv[0] == "pythonw":
		argv[0] = strings.TrimSuffix(pyenv.Interpreter(venv), "python.exe") + "pythonw.exe"
	default:
		if !filepath.IsAbs(argv[0]) && strings.ContainsAny(argv[0], `/\`) {
			argv[0] = filepath.Join(dir, filepath.FromSlash(argv[0]))
		}
	}
	vars, err := o.appVars(r)
	if err != nil {
		return supervise.Spec{}, err
	}
	// FERRY_SHA and the like win over the app's variables everywhere; a
	// service, which does not inherit the agent's environment, also gets
	// the venv from ferry rather than from the PATH it finds.
	fixed := map[string]string{
		"FERRY_SHA":         r.SHA,
		"FERRY_RELEASE":     r.ID,
		"FERRY_ENVIRONMENT": o.spec.Environment,
		"PYTHONUNBUFFERED":  "1",
	}
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
		if !ok || !varRe().MatchString(k) {
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
