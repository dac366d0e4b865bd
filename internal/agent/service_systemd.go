package agent

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/pyenv"
)

// systemdUnit is what the agent writes for run_as: service on Linux, as
// plain data so that rendering is tested byte for byte (golden file).
type systemdUnit struct {
	Description string
	// Argv is the release's command, argv[0] absolute (systemd wants a
	// path, and the agent resolves it as process mode would).
	Argv []string
	Dir  string
	// Env holds the variables ferry itself sets (FERRY_SHA, the venv's
	// PATH...), visible in `systemctl show`; nothing secret.
	Env map[string]string
	// EnvFile holds the app's configured variables and its env file's,
	// merged with process mode's precedence (configured ones win), in a
	// file only root reads: a unit's Environment= is public through
	// `systemctl show`, and systemd would let EnvironmentFile= override
	// Environment=, the opposite of ferry's order.
	EnvFile string
	LogPath string
	// StopTimeout is the grace between SIGTERM and SIGKILL.
	StopTimeout time.Duration
}

// systemdUnitDir is where units are written: /etc/systemd/system, or
// FERRY_SYSTEMD_DIR (tests, or a system with another layout).
func systemdUnitDir() string {
	if d := os.Getenv("FERRY_SYSTEMD_DIR"); d != "" {
		return d
	}
	return "/etc/systemd/system"
}

// render writes the unit file. Every value is escaped for systemd's
// parser: "%" starts a specifier everywhere; in ExecStart "$" starts a
// variable and words are split on white space unless quoted; inside
// double quotes backslash escapes apply.
func (u systemdUnit) render() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by ferry-agent on every deploy and rollback; edits are lost.")
	w("[Unit]")
	w("Description=%s", systemdSpecifiers(u.Description))
	w("After=network-online.target")
	w("Wants=network-online.target")
	w("")
	w("[Service]")
	w("Type=exec")
	words := make([]string, len(u.Argv))
	for i, a := range u.Argv {
		words[i] = systemdQuote(strings.ReplaceAll(systemdSpecifiers(a), "$", "$$"))
	}
	w("ExecStart=%s", strings.Join(words, " "))
	w("WorkingDirectory=%s", systemdSpecifiers(u.Dir))
	keys := make([]string, 0, len(u.Env))
	for k := range u.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w("Environment=%s", systemdQuote(systemdSpecifiers(k+"="+u.Env[k])))
	}
	if u.EnvFile != "" {
		w("EnvironmentFile=%s", systemdSpecifiers(u.EnvFile))
	}
	w("StandardOutput=append:%s", systemdSpecifiers(u.LogPath))
	w("StandardError=append:%s", systemdSpecifiers(u.LogPath))
	w("Restart=on-failure")
	w("RestartSec=2")
	w("KillMode=mixed")
	w("TimeoutStopSec=%d", int(math.Ceil(u.StopTimeout.Seconds())))
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String()
}

func systemdSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// systemdQuote double-quotes a word with C-style escapes for the
// characters the parser would otherwise take.
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// renderEnvFile writes variables for EnvironmentFile=: one KEY="value" a
// line, with backslash escapes for the characters systemd's parser gives
// meaning to inside double quotes.
func renderEnvFile(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	var b strings.Builder
	b.WriteString("# Written by ferry-agent: the app's configured and env-file variables.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(vars[k]))
	}
	return b.String()
}

// unitFor builds release r's unit from the same process spec process mode
// starts (appSpec), so the two modes run the same command in the same
// directory with the same variables; only the inherited environment
// differs: a service gets systemd's, not the deploying agent's.
func unitFor(o *op, r *Release, envFile string) (systemdUnit, map[string]string, error) {
	spec, err := appSpec(o, r)
	if err != nil {
		return systemdUnit{}, nil, err
	}
	run := o.runOf(r)
	argv := append([]string(nil), spec.Argv...)
	if !filepath.IsAbs(argv[0]) {
		p, err := lookPathIn(argv[0], spec.Env)
		if err != nil {
			return systemdUnit{}, nil, fmt.Errorf("program %s: %w", argv[0], err)
		}
		argv[0] = p
	}
	fixed := map[string]string{
		"FERRY_SHA":         r.SHA,
		"FERRY_RELEASE":     r.ID,
		"FERRY_ENVIRONMENT": o.spec.Environment,
		"PYTHONUNBUFFERED":  "1",
	}
	if r.Venv != "" {
		venv := o.l.venv(r.Venv)
		fixed["VIRTUAL_ENV"] = venv
		path := os.Getenv("PATH")
		if path == "" {
			path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		}
		fixed["PATH"] = filepath.Dir(pyenv.Interpreter(venv)) + ":" + path
	}
	vars := map[string]string{}
	if run.EnvFile != "" {
		fileVars, err := readEnvFile(filepath.Join(o.l.shared(), filepath.FromSlash(run.EnvFile)))
		if err != nil && !os.IsNotExist(err) {
			return systemdUnit{}, nil, err
		}
		for k, v := range fileVars {
			vars[k] = v
		}
	}
	for k, v := range run.Vars {
		vars[k] = v
	}
	for k := range fixed {
		delete(vars, k) // ferry's own win, as in process mode
	}
	desc := "ferry " + o.spec.App
	if o.spec.Environment != "" {
		desc += " (" + o.spec.Environment + ")"
	}
	u := systemdUnit{
		Description: desc + " release " + r.ID,
		Argv:        argv, Dir: spec.Dir, Env: fixed, LogPath: spec.LogPath,
		StopTimeout: o.stopTimeoutOf(r),
	}
	if len(vars) > 0 {
		u.EnvFile = envFile
	}
	return u, vars, nil
}

// lookPathIn finds a bare program name on the PATH of env.
func lookPathIn(name string, env []string) (string, error) {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found on PATH")
}
