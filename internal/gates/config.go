package gates

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// Config is the `gates:` section of ferry.yml. Zero values mean "use the
// default", so a decoded file can be passed to Run as it is; Defaults shows
// the values that apply.
type Config struct {
	// Parallel bounds how many gates run at once; 0 means one per CPU. Most
	// gates are CPU-bound Python processes, so more than the CPU count only
	// adds contention.
	Parallel int `yaml:"parallel"`

	Tests  TestsGate  `yaml:"tests"`
	Audit  AuditGate  `yaml:"audit"`
	Safety SafetyGate `yaml:"safety"`
	Bandit BanditGate `yaml:"bandit"`
	Flake8 Flake8Gate `yaml:"flake8"`
	Pylint PylintGate `yaml:"pylint"`
	Smoke  SmokeGate  `yaml:"smoke"`
	Env    EnvGate    `yaml:"env"`
	Deps   DepsGate   `yaml:"deps"`

	// Custom gates run any command in the app directory; exit status 0 passes.
	Custom []CustomGate `yaml:"custom"`
}

// TestsGate runs pytest with coverage. Its figures come from pytest's JUnit
// XML and pytest-cov's Cobertura XML, so they survive any pytest verbosity
// or plugin that rewrites the terminal output.
type TestsGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // default 10m
	Args     []string      `yaml:"args"`     // extra pytest arguments, e.g. ["-x", "-k", "not slow"]
	// CoverageMin fails the gate when line coverage (percent) is below it;
	// 0 reports coverage without enforcing it.
	CoverageMin float64 `yaml:"coverage_min"`
	// Cov lists the sources measured (pytest-cov's --cov); default ["."].
	Cov []string `yaml:"cov"`
	// Paths are the test paths given to pytest; default: pytest's own discovery.
	Paths []string `yaml:"paths"`
}

// AuditGate checks pinned dependencies against known vulnerabilities, with
// pip-audit or, when OSVDB is set, offline against an OSV database, for build
// servers that cannot reach PyPI.
type AuditGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // default 3m
	Args     []string      `yaml:"args"`     // extra pip-audit arguments (ignored offline)
	// OSVDB is a directory of OSV JSON files or a zip of them (osv.dev's
	// per-ecosystem all.zip), relative to the app directory. Setting it
	// selects the offline audit even where pip-audit is installed.
	OSVDB string `yaml:"osv_db"`
	// Requirements overrides Options.Requirements for this gate.
	Requirements string `yaml:"requirements"`
	// Ignore lists advisory IDs or aliases (CVE IDs) accepted as known risks.
	Ignore []string `yaml:"ignore"`
	// RequirePins fails the offline audit on requirements it cannot audit
	// because they are not pinned with ==; by default they are only reported.
	RequirePins bool `yaml:"require_pins"`
}

// SafetyGate runs safety, a second opinion on dependency vulnerabilities
// with its own database; non-blocking by default because it needs network
// access and, in recent versions, an account.
type SafetyGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default false
	Timeout  time.Duration `yaml:"timeout"`  // default 3m
	Args     []string      `yaml:"args"`     // extra `safety check` arguments
	// Ignore lists safety vulnerability IDs or CVE IDs accepted as known risks.
	Ignore []string `yaml:"ignore"`
}

// BanditGate runs bandit's static security checks.
type BanditGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default false
	Timeout  time.Duration `yaml:"timeout"`  // default 5m
	Args     []string      `yaml:"args"`     // extra bandit arguments, e.g. ["-s", "B101"]
	// Severity is the lowest severity that fails the gate: low, medium or
	// high; default medium. Findings below it are still reported.
	Severity string `yaml:"severity"`
	// Confidence is the lowest confidence that fails the gate: low, medium
	// or high; default low (every confidence counts).
	Confidence string `yaml:"confidence"`
	// Paths to scan; default: the app's top-level Python files and
	// directories, leaving virtualenvs out.
	Paths []string `yaml:"paths"`
}

// Flake8Gate runs flake8 (pyflakes, pycodestyle, mccabe); any finding fails it.
type Flake8Gate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // default 5m
	Args     []string      `yaml:"args"`     // extra flake8 arguments, e.g. ["--max-line-length=100"]
	// Paths to check; default ["."], with the directories every gate
	// leaves out excluded (see the package doc).
	Paths []string `yaml:"paths"`
}

// PylintGate runs pylint and compares its score with a threshold.
type PylintGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default false
	Timeout  time.Duration `yaml:"timeout"`  // default 5m
	Args     []string      `yaml:"args"`     // extra pylint arguments, e.g. ["--disable=C0114"]
	// MinScore is the lowest passing score out of 10; 0 means the default 8.
	MinScore float64 `yaml:"min_score"`
	// Paths to lint; default: the app's top-level modules and packages.
	Paths []string `yaml:"paths"`
}

// SmokeGate imports the app's modules with the app's interpreter: the
// cheapest proof that the release can start at all.
type SmokeGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // default 1m
	Args     []string      `yaml:"args"`     // extra interpreter arguments, e.g. ["-W", "error"]
	// Modules to import; default: the module Options.Start serves (and
	// the app object it names is looked up, not called), else the app's
	// top-level modules and packages, src/'s included (tests left out).
	Modules []string `yaml:"modules"`
}

// EnvGate checks that required environment variables are present and non-
// empty. Only names are ever reported: values may be secrets.
type EnvGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // bounds the check; 1m when unset (it runs no tool)
	Args     []string      `yaml:"args"`     // unused; accepted for uniformity
	Required []string      `yaml:"required"`
}

// DepsGate runs `pip check` with the app's interpreter: installed packages
// whose own requirements are broken fail at import time in production.
type DepsGate struct {
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // default 1m
	Args     []string      `yaml:"args"`     // extra `pip check` arguments
}

// CustomGate runs a command the built-in gates do not cover (mypy, a
// migration check, a license scan).
type CustomGate struct {
	Name     string        `yaml:"name"`     // shown in reports; lowercase letters, digits, - and _
	Command  []string      `yaml:"command"`  // program and arguments; the program is looked up like the tools
	Enabled  *bool         `yaml:"enabled"`  // default true
	Blocking *bool         `yaml:"blocking"` // default true
	Timeout  time.Duration `yaml:"timeout"`  // default 10m
	Args     []string      `yaml:"args"`     // appended to Command
}

// Locate names a gates field (a dotted path under gates:, slices indexed
// as custom[0].name) for a person: ferry.yml:LINE:COL and the key when
// the CLI knows where it was written, or just "gates.FIELD".
type Locate func(field string) string

// FieldPath is the Locate of a configuration that came from no file.
func FieldPath(field string) string { return "gates." + field }

// Default values applied to zero fields.
const (
	DefaultPylintMinScore = 8.0
	DefaultBanditSeverity = "medium"
)

func boolPtr(b bool) *bool { return &b }

func orBool(p *bool, def bool) *bool {
	if p == nil {
		return boolPtr(def)
	}
	return p
}

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Defaults returns the configuration that applies when ferry.yml says
// nothing about gates.
func Defaults() Config { return Config{}.WithDefaults() }

// WithDefaults fills every zero field with its default and returns the
// result, leaving c untouched; what the user set wins.
func (c Config) WithDefaults() Config {
	for _, d := range builtins {
		s := d.settings(&c)
		*s.enabled = orBool(*s.enabled, true)
		*s.blocking = orBool(*s.blocking, d.blocking)
		*s.timeout = orDur(*s.timeout, d.timeout)
		if d.defaults != nil {
			d.defaults(&c)
		}
	}
	custom := make([]CustomGate, len(c.Custom))
	for i, g := range c.Custom {
		g.Enabled = orBool(g.Enabled, true)
		g.Blocking = orBool(g.Blocking, true)
		g.Timeout = orDur(g.Timeout, 10*time.Minute)
		custom[i] = g
	}
	c.Custom = custom
	return c
}

var (
	customNameRe = text.Pattern(`^[a-z0-9][a-z0-9_-]*$`)
	envNameRe    = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]*$`)
	moduleNameRe = text.Pattern(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// Validate reports every problem at once, so a user fixes ferry.yml in one
// pass: nil, or usage errors (*fail.Error) joined, each "WHERE: message"
// with its hint, WHERE from locate. It checks the values as written;
// defaults are not problems.
func (c Config) Validate(locate Locate) error {
	if locate == nil {
		locate = FieldPath
	}
	var ps []error
	add := func(field, msg, hint string) {
		ps = append(ps, fail.Usage(fmt.Errorf("%s: %s", locate(field), msg), hint))
	}

	if c.Parallel < 0 {
		add("parallel", "must not be negative", "use 0 for one gate per CPU")
	}
	for _, d := range builtins {
		if *d.settings(&c).timeout < 0 {
			add(d.name+".timeout", "must not be negative", `write a duration such as "90s" or "5m"`)
		}
	}
	for _, d := range builtins {
		if d.check != nil {
			d.check(&c, add)
		}
	}
	seen := map[string]int{}
	for _, d := range builtins {
		seen[d.name] = -1
	}
	for i, g := range c.Custom {
		f := func(s string) string { return fmt.Sprintf("custom[%d].%s", i, s) }
		switch prev, dup := seen[g.Name]; {
		case g.Name == "":
			add(f("name"), "is required", "name the gate as it should appear in reports, e.g. mypy")
		case !customNameRe().MatchString(g.Name):
			add(f("name"), fmt.Sprintf("%q is not a valid gate name", g.Name), "use lowercase letters, digits, - and _")
		case dup && prev < 0:
			add(f("name"), fmt.Sprintf("%q is a built-in gate", g.Name), "configure it under gates."+g.Name+" or pick another name")
		case dup:
			add(f("name"), fmt.Sprintf("%q is already used by custom[%d]", g.Name, prev), "give each custom gate its own name")
		default:
			seen[g.Name] = i
		}
		if len(g.Command) == 0 || strings.TrimSpace(g.Command[0]) == "" {
			add(f("command"), "is required", `give the program and its arguments as a list, e.g. ["mypy", "."]`)
		}
		if g.Timeout < 0 {
			add(f("timeout"), "must not be negative", `write a duration such as "90s" or "5m"`)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return fail.Usage(errors.Join(ps...))
}
