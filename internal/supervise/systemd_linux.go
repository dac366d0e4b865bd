//go:build linux

package supervise

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
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

// systemdUnit builds t's unit for spec: the same command in the same
// directory as process mode starts (spec.Process), with ferry's variables
// in the open and the app's own in envFile; only the inherited
// environment differs: a service gets systemd's, not the deploying
// agent's. It returns the variables for envFile.
func (t Target) systemdUnit(spec Spec, envFile string) (systemdUnit, map[string]string, error) {
	argv := append([]string(nil), spec.Process.Argv...)
	if !filepath.IsAbs(argv[0]) {
		p, err := proc.LookPathIn(argv[0], proc.PathOf(spec.Process.Env))
		if err != nil {
			return systemdUnit{}, nil, fmt.Errorf("program %s: %w on the app's PATH", argv[0], err)
		}
		argv[0] = p
	}
	vars := maps.Clone(spec.Vars)
	for k := range spec.Own {
		delete(vars, k) // ferry's own win, as in process mode
	}
	desc := "ferry " + t.App
	if t.Environment != "" {
		desc += " (" + t.Environment + ")"
	}
	u := systemdUnit{
		Description: desc + " release " + spec.Release,
		Argv:        argv, Dir: spec.Process.Dir, Env: spec.Own, LogPath: spec.Process.LogPath,
		StopTimeout: spec.StopTimeout,
	}
	if len(vars) > 0 {
		u.EnvFile = envFile
	}
	return u, vars, nil
}
