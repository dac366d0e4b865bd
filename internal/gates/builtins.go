package gates

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Names of the built-in gates, as they appear under `gates:` in ferry.yml
// and in every report. Custom gates may not reuse them.
const (
	GateTests  = "tests"
	GateAudit  = "audit"
	GateSafety = "safety"
	GateBandit = "bandit"
	GateFlake8 = "flake8"
	GatePylint = "pylint"
	GateSmoke  = "smoke"
	GateEnv    = "env"
	GateDeps   = "deps"
)

// builtins registers the built-in gates, in the order reports list them:
// the order a reader expects (tests first), not the order they finish.
// Everything else reads this table: the defaults and the validation of
// the configuration, the runner, the reports, and the tests' helpers.
var builtins = []gateDef{
	{
		name: GateTests, tool: "pytest", cost: 90, probe: true, blocking: true, timeout: 10 * time.Minute,
		settings: func(c *Config) settings { g := &c.Tests; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		defaults: func(c *Config) {
			if len(c.Tests.Cov) == 0 {
				c.Tests.Cov = []string{"."}
			}
		},
		check: func(c *Config, add addProblem) {
			if c.Tests.CoverageMin < 0 || c.Tests.CoverageMin > 100 {
				add("tests.coverage_min", "must be between 0 and 100", "coverage is a percentage of lines, e.g. 80")
			}
		},
		run:    func(ctx context.Context, e *runEnv, c *Config, r *Result) { runTestsGate(ctx, e, c.Tests, r) },
		report: reportInfo{cases: true},
	},
	{
		name: GateAudit, tool: "pip-audit", cost: 60, probe: true, blocking: true, timeout: 3 * time.Minute,
		settings: func(c *Config) settings { g := &c.Audit; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		run:      func(ctx context.Context, e *runEnv, c *Config, r *Result) { runAuditGate(ctx, e, c.Audit, r) },
		report:   reportInfo{notes: true},
	},
	{
		name: GateSafety, tool: "safety", cost: 60, probe: true, blocking: false, timeout: 3 * time.Minute,
		settings: func(c *Config) settings { g := &c.Safety; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		run:      func(ctx context.Context, e *runEnv, c *Config, r *Result) { runSafetyGate(ctx, e, c.Safety, r) },
	},
	{
		name: GateBandit, tool: "bandit", cost: 50, probe: true, blocking: false, timeout: 5 * time.Minute,
		settings: func(c *Config) settings { g := &c.Bandit; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		defaults: func(c *Config) {
			if c.Bandit.Severity == "" {
				c.Bandit.Severity = DefaultBanditSeverity
			}
			if c.Bandit.Confidence == "" {
				c.Bandit.Confidence = "low"
			}
		},
		check: func(c *Config, add addProblem) {
			if _, ok := levels[strings.ToLower(c.Bandit.Severity)]; c.Bandit.Severity != "" && !ok {
				add("bandit.severity", fmt.Sprintf("unknown severity %q", c.Bandit.Severity), "use low, medium or high")
			}
			if _, ok := levels[strings.ToLower(c.Bandit.Confidence)]; c.Bandit.Confidence != "" && !ok {
				add("bandit.confidence", fmt.Sprintf("unknown confidence %q", c.Bandit.Confidence), "use low, medium or high")
			}
		},
		run:    func(ctx context.Context, e *runEnv, c *Config, r *Result) { runBanditGate(ctx, e, c.Bandit, r) },
		report: reportInfo{sarifURI: "https://bandit.readthedocs.io/"},
	},
	{
		name: GateFlake8, tool: "flake8", cost: 40, probe: true, blocking: true, timeout: 5 * time.Minute,
		settings: func(c *Config) settings { g := &c.Flake8; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		run:      func(ctx context.Context, e *runEnv, c *Config, r *Result) { runFlake8Gate(ctx, e, c.Flake8, r) },
		report:   reportInfo{sarifURI: "https://flake8.pycqa.org/"},
	},
	{
		name: GatePylint, tool: "pylint", cost: 100, probe: true, blocking: false, timeout: 5 * time.Minute,
		settings: func(c *Config) settings { g := &c.Pylint; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		defaults: func(c *Config) {
			if c.Pylint.MinScore == 0 {
				c.Pylint.MinScore = DefaultPylintMinScore
			}
		},
		check: func(c *Config, add addProblem) {
			if c.Pylint.MinScore < 0 || c.Pylint.MinScore > 10 {
				add("pylint.min_score", "must be between 0 and 10", "pylint scores out of 10, e.g. 8.5")
			}
		},
		run: func(ctx context.Context, e *runEnv, c *Config, r *Result) { runPylintGate(ctx, e, c.Pylint, r) },
	},
	{
		name: GateSmoke, tool: "python", cost: 20, blocking: true, timeout: time.Minute,
		settings: func(c *Config) settings { g := &c.Smoke; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		check: func(c *Config, add addProblem) {
			for i, m := range c.Smoke.Modules {
				if !moduleNameRe().MatchString(m) || strings.HasSuffix(m, ".py") {
					add(fmt.Sprintf("smoke.modules[%d]", i), fmt.Sprintf("%q is not a Python module name", m),
						`write dotted module names such as "app" or "mysite.wsgi", not file paths`)
				}
			}
		},
		run: func(ctx context.Context, e *runEnv, c *Config, r *Result) { runSmokeGate(ctx, e, c.Smoke, r) },
	},
	{
		// No default timeout: the check runs no tool.
		name: GateEnv, tool: "(built-in)", cost: 0, blocking: true,
		settings: func(c *Config) settings { g := &c.Env; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		check: func(c *Config, add addProblem) {
			for i, name := range c.Env.Required {
				if !envNameRe().MatchString(name) {
					add(fmt.Sprintf("env.required[%d]", i), fmt.Sprintf("%q is not a valid environment variable name", name),
						"list variable names only (letters, digits and _), never values")
				}
			}
		},
		run: func(_ context.Context, e *runEnv, c *Config, r *Result) { runEnvGate(e, c.Env, r) },
	},
	{
		name: GateDeps, tool: "pip", cost: 55, probe: true, blocking: true, timeout: time.Minute,
		settings: func(c *Config) settings { g := &c.Deps; return settings{&g.Enabled, &g.Blocking, &g.Timeout} },
		run:      func(ctx context.Context, e *runEnv, c *Config, r *Result) { runDepsGate(ctx, e, c.Deps, r) },
	},
}

// gateDef is one built-in gate as the rest of the package sees it.
type gateDef struct {
	name string // the key under gates: in ferry.yml, and the gate's name in reports
	// tool is shown when the gate never got to find its tool.
	tool string
	// cost orders the start: slow gates first, so the slowest one is not
	// left to run alone at the end. The figures follow what the benchmark
	// measures (uncontended, on the hello project: pylint 2.5 s, pip check
	// 1.2 s, pytest 0.5 s, flake8 0.3 s, bandit 0.2 s, the import 0.1 s)
	// and, for the gates whose time grows with the project or waits on the
	// network (tests, pip-audit, safety, custom commands), what is usual:
	// a test suite outgrows every linter.
	cost int
	// probe: the gate asks the app's interpreter which tools it has
	// (pythonTool, or pytest and pip themselves), so Run starts that probe
	// before the gates when one of these is enabled.
	probe bool
	// blocking and timeout are the defaults of the gate's settings.
	blocking bool
	timeout  time.Duration
	// settings points at the gate's section of c.
	settings func(c *Config) settings
	// defaults fills the gate's own zero fields and check reports its own
	// invalid ones, beside what every gate has; either may be nil.
	defaults func(c *Config)
	check    func(c *Config, add addProblem)
	// run runs the gate with its section of c, which has its defaults.
	run    func(ctx context.Context, e *runEnv, c *Config, r *Result)
	report reportInfo
}

// settings points at what every gate's section of Config has, so defaults,
// validation and the runner handle them once for gates of any type.
type settings struct {
	enabled, blocking **bool
	timeout           *time.Duration
}

// addProblem records one problem of a configuration: the field under
// gates:, what is wrong, and what to write instead.
type addProblem func(field, msg, hint string)

// reportInfo is how the reports treat a gate's results beyond what every
// gate gets.
type reportInfo struct {
	// sarifURI puts the gate's findings in the SARIF report, as a run whose
	// driver links there: the findings that are source locations.
	sarifURI string
	// notes shows the gate's note-level findings in the terminal (for the
	// audit, requirements it could not audit); other gates' notes would
	// drown what failed.
	notes bool
	// cases lists the gate's failing test cases; other gates' cases repeat
	// their findings.
	cases bool
}

// reportOf is how the reports treat the gate named name; a custom gate
// gets what every gate gets.
func reportOf(name string) reportInfo {
	for _, d := range builtins {
		if d.name == name {
			return d.report
		}
	}
	return reportInfo{}
}
