package gates

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

func TestDefaults(t *testing.T) {
	d := Defaults()
	blocking := map[string]bool{}
	enabled := true
	for name, g := range map[string][2]*bool{
		GateTests: {d.Tests.Enabled, d.Tests.Blocking}, GateAudit: {d.Audit.Enabled, d.Audit.Blocking},
		GateSafety: {d.Safety.Enabled, d.Safety.Blocking}, GateBandit: {d.Bandit.Enabled, d.Bandit.Blocking},
		GateFlake8: {d.Flake8.Enabled, d.Flake8.Blocking}, GatePylint: {d.Pylint.Enabled, d.Pylint.Blocking},
		GateSmoke: {d.Smoke.Enabled, d.Smoke.Blocking}, GateEnv: {d.Env.Enabled, d.Env.Blocking},
		GateDeps: {d.Deps.Enabled, d.Deps.Blocking},
	} {
		enabled = enabled && *g[0]
		blocking[name] = *g[1]
	}
	if !enabled {
		t.Error("every built-in gate is enabled by default")
	}
	want := map[string]bool{GateTests: true, GateAudit: true, GateSafety: false, GateBandit: false, GateFlake8: true,
		GatePylint: false, GateSmoke: true, GateEnv: true, GateDeps: true}
	if !reflect.DeepEqual(blocking, want) {
		t.Errorf("blocking defaults %v, want %v", blocking, want)
	}
	if d.Pylint.MinScore != 8 || d.Bandit.Severity != "medium" || d.Tests.Timeout != 10*time.Minute || d.Tests.Cov[0] != "." {
		t.Errorf("thresholds: %+v %+v %+v", d.Pylint, d.Bandit, d.Tests)
	}
	if err := d.Validate(nil); err != nil {
		t.Errorf("defaults are invalid: %v", err)
	}

	// What the user wrote wins over the defaults.
	c := Config{Flake8: Flake8Gate{Blocking: boolPtr(false)}, Pylint: PylintGate{MinScore: 9.5},
		Custom: []CustomGate{{Name: "mypy", Command: []string{"mypy", "."}}}}.WithDefaults()
	if *c.Flake8.Blocking || c.Pylint.MinScore != 9.5 || !*c.Custom[0].Blocking || c.Custom[0].Timeout != 10*time.Minute {
		t.Errorf("user values lost: %+v %+v %+v", c.Flake8, c.Pylint, c.Custom[0])
	}
}

func TestValidate(t *testing.T) {
	c := Config{
		Parallel: -1,
		Tests:    TestsGate{CoverageMin: 120, Timeout: -time.Second},
		Pylint:   PylintGate{MinScore: 11},
		Bandit:   BanditGate{Severity: "critical", Confidence: "sure"},
		Env:      EnvGate{Required: []string{"DATABASE_URL", "postgres://x"}},
		Smoke:    SmokeGate{Modules: []string{"app", "app.py"}},
		Custom: []CustomGate{
			{Name: "mypy", Command: []string{"mypy"}},
			{Name: "mypy", Command: []string{"mypy"}},
			{Name: "flake8", Command: []string{"x"}},
			{Name: "Bad Name"},
			{Command: []string{"x"}, Timeout: -1},
		},
	}
	got := map[string]string{}
	located := func(field string) string { return "<" + field + ">" }
	for _, p := range fail.Problems(c.Validate(located)) {
		field, msg, ok := strings.Cut(strings.TrimPrefix(p.Error(), "<"), ">: ")
		if !ok {
			t.Errorf("problem %q does not start with its located field", p)
		}
		got[field] = msg
		if len(fail.Hints(p)) == 0 {
			t.Errorf("%s: problem without a hint", field)
		}
		if fail.Code(p) != exitcode.Usage {
			t.Errorf("%s: exit code %d, want usage", field, fail.Code(p))
		}
	}
	want := map[string]string{
		"parallel":           "must not be negative",
		"tests.coverage_min": "must be between 0 and 100",
		"tests.timeout":      "must not be negative",
		"pylint.min_score":   "must be between 0 and 10",
		"bandit.severity":    `unknown severity "critical"`,
		"bandit.confidence":  `unknown confidence "sure"`,
		"env.required[1]":    `"postgres://x" is not a valid environment variable name`,
		"smoke.modules[1]":   `"app.py" is not a Python module name`,
		"custom[1].name":     `"mypy" is already used by custom[0]`,
		"custom[2].name":     `"flake8" is a built-in gate`,
		"custom[3].name":     `"Bad Name" is not a valid gate name`,
		"custom[3].command":  "is required",
		"custom[4].name":     "is required",
		"custom[4].timeout":  "must not be negative",
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected problem %s: %s", k, got[k])
			}
		}
	}

	// Run refuses an invalid configuration with a usage error listing
	// every problem, each with its hint.
	_, err := Run(context.Background(), c, Options{AppDir: t.TempDir()})
	if fail.Code(err) != exitcode.Usage || len(fail.Problems(err)) != len(want) {
		t.Fatalf("Run error = %v (exit %d), want a usage error with %d problems", err, fail.Code(err), len(want))
	}
	var b strings.Builder
	fail.Format(&b, err)
	if !strings.Contains(b.String(), "error: gates.tests.coverage_min: must be between 0 and 100\nhint: coverage is a percentage") {
		t.Errorf("formatted:\n%s", b.String())
	}
}

func TestRunRejectsMissingAppDir(t *testing.T) {
	_, err := Run(context.Background(), only(), Options{AppDir: "/nonexistent/app"})
	if err == nil || !strings.Contains(err.Error(), "app directory") {
		t.Errorf("err = %v", err)
	}
}

// TestEveryGateIsRegistered: each gate section of Config is registered in
// builtins under its yaml key, in the same order, and its settings point
// into that section, so a section added without its registration (or
// wired to another gate's fields) fails here rather than go unrun.
func TestEveryGateIsRegistered(t *testing.T) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	var sections []string
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		sections = append(sections, name)
		for _, d := range builtins {
			if d.name != name {
				continue
			}
			s, sec := d.settings(&c), v.Field(i)
			if s.enabled != sec.FieldByName("Enabled").Addr().Interface() ||
				s.blocking != sec.FieldByName("Blocking").Addr().Interface() ||
				s.timeout != sec.FieldByName("Timeout").Addr().Interface() {
				t.Errorf("the settings of gate %s do not point into Config.%s", name, f.Name)
			}
		}
	}
	var names []string
	for _, d := range builtins {
		names = append(names, d.name)
	}
	if !reflect.DeepEqual(names, sections) {
		t.Errorf("builtins %v, Config's gate sections %v: register each section once, in the same order", names, sections)
	}
}
