package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

const minimal = "app: hello\nenvironments:\n  local: {}\n"

func TestDefaults(t *testing.T) {
	c, err := Parse("ferry.yml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Start != "python app.py" || c.Requirements != "requirements.txt" || c.Python != "python3" || c.KeepReleases != 5 ||
		c.Health.URL != "http://127.0.0.1:8000/health" || c.Health.Status != 200 || c.Health.Deadline != time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
	if e := c.Environments["local"]; e.Target != TargetLocal || e.Root != ".ferry/local" {
		t.Fatalf("environment defaults: %+v", e)
	}
}

func TestProblemsCarryLineColumnAndHint(t *testing.T) {
	cases := []struct{ name, yaml, want, hint string }{
		{"unknown key", "app: x\nhelth:\n  url: http://x\nenvironments: {l: {}}\n", `ferry.yml:2:1: unknown key "helth" in the top level`, `did you mean "health"?`},
		{"nested unknown key", "app: x\nhealth:\n  urll: http://x\nenvironments: {l: {}}\n", `ferry.yml:3:3: unknown key "urll" in health`, `did you mean "url"?`},
		{"wrong type", "app: x\nkeep_releases: many\nenvironments: {l: {}}\n", "ferry.yml:2:16: keep_releases must be a whole number, not the string \"many\"", ""},
		{"bad duration", "app: x\nhealth: {deadline: soon}\nenvironments: {l: {}}\n", `ferry.yml:2:20: health.deadline: "soon" is not a duration`, `"30s"`},
		{"bool", "app: x\npip: {no_index: yes please}\nenvironments: {l: {}}\n", "ferry.yml:2:17: pip.no_index must be true or false", "true or false"},
		{"missing app", "environments: {l: {}}\n", "ferry.yml:1:1: app is required", "app: billing"},
		{"no environments", "app: x\n", "no environments are defined", "target: local"},
		{"dir escapes", "app: x\ndir: ../other\nenvironments: {l: {}}\n", `ferry.yml:2:6: dir "../other" must not leave its directory`, ""},
		{"absolute requirements", "app: x\nrequirements: /etc/passwd\nenvironments: {l: {}}\n", `ferry.yml:2:15: requirements "/etc/passwd" must be relative`, ""},
		{"shell in start", "app: x\nstart: python app.py && rm -rf /\nenvironments: {l: {}}\n", `ferry.yml:2:8: start: "&" is shell syntax`, "waitress"},
		{"bad health url", "app: x\nhealth: {url: 'ftp://x/h'}\nenvironments: {l: {}}\n", `ferry.yml:2:15: health.url "ftp://x/h" is not an http(s) URL`, ""},
		{"bad env name", "app: x\nenv: {1BAD: x}\nenvironments: {l: {}}\n", `ferry.yml:2:7: env: "1BAD" is not a valid variable name`, ""},
		{"duplicate branch", "app: x\nenvironments:\n  a: {branch: main}\n  b: {branch: main}\n", `ferry.yml:4:15: branch "main" already selects environment "a"`, ""},
		{"unknown target", "app: x\nenvironments:\n  a: {target: ftp}\n", `ferry.yml:3:15: unknown target "ftp"`, "local or ssm"},
		{"ssm instance id", "app: x\nenvironments:\n  p:\n    target: ssm\n    root: /srv/x\n    ssm: {region: us-east-1, bucket: b, instance_ids: [i-123]}\n", `"i-123" is not an instance ID`, "i-0123456789abcdef0"},
		{"ssm without section", "app: x\nenvironments:\n  p: {target: ssm, root: /srv/x}\n", "target ssm needs an ssm: section", ""},
		{"duplicate key", "app: x\napp: y\nenvironments: {l: {}}\n", "ferry.yml:2:1: app is set twice", "remove one"},
		{"syntax", "app: x\n  bad: [\n", "ferry.yml:", "indentation"},
		{"empty", "", "the file is empty", "docs/config.md"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("ferry.yml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("want an error")
			}
			if fail.Code(err) != exitcode.Usage {
				t.Fatalf("exit code %d, want usage", fail.Code(err))
			}
			var b strings.Builder
			fail.Format(&b, err)
			out := b.String()
			if !strings.HasPrefix(out, "error: ") || !strings.Contains(out, tc.want) {
				t.Fatalf("error %q lacks %q", out, tc.want)
			}
			if tc.hint != "" && !strings.Contains(out, "hint: ") || !strings.Contains(out, tc.hint) {
				t.Fatalf("error %q lacks hint %q", out, tc.hint)
			}
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := Parse("ferry.yml", []byte("app: x\nkeep_releases: 0\nhealth: {status: 9}\nenvironments: {l: {}}\n"))
	if ps := fail.Problems(err); len(ps) != 2 {
		t.Fatalf("want 2 problems at once, got %v", err)
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string]string{
		`python app.py`:                          "python|app.py",
		`python -m waitress --port 8000 app:app`: "python|-m|waitress|--port|8000|app:app",
		`python "my app.py" 'x y'`:               "python|my app.py|x y",
		`python "say \"hi\""`:                    `python|say "hi"`,
		// Variables are the agent's to fill in from the app's environment.
		`waitress-serve --port=$PORT app:app`: "waitress-serve|--port=$PORT|app:app",
	} {
		got, err := SplitCommand(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`python $(id)`, `python $1`, `a | b`, `"open`, `x; y`, ""} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q) must fail", bad)
		}
	}
}

func TestEnvironmentForBranchAndAppEnv(t *testing.T) {
	c, err := Parse("ferry.yml", []byte("app: x\nenv: {A: '1', B: '2'}\nenvironments:\n  development: {branch: dev}\n  production: {branch: master, env: {B: '3'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := c.EnvironmentForBranch("master"); !ok || n != "production" {
		t.Fatalf("master -> %q", n)
	}
	if n, ok := c.EnvironmentForBranch("dev"); !ok || n != "development" {
		t.Fatalf("dev -> %q", n)
	}
	if _, ok := c.EnvironmentForBranch("feature/x"); ok {
		t.Fatal("an unknown branch selects nothing")
	}
	if e := c.AppEnv("production"); e["A"] != "1" || e["B"] != "3" {
		t.Fatalf("AppEnv = %v", e)
	}
}

// TestPublishedSchemaIsCurrent keeps docs/ferry.schema.json in step with
// the types: regenerate it with `go run ./cmd/ferry schema > docs/ferry.schema.json`.
func TestPublishedSchemaIsCurrent(t *testing.T) {
	want, err := json.MarshalIndent(Schema(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "docs", "ferry.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Fatal("docs/ferry.schema.json is stale: run go run ./cmd/ferry schema > docs/ferry.schema.json")
	}
}

// TestExampleConfigsAreValid parses the configurations the docs show.
func TestExampleConfigsAreValid(t *testing.T) {
	if _, err := Load(filepath.Join("..", "..", "examples", "hello", "ferry.yml")); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	start := strings.Index(s, "```yaml\n")
	end := strings.Index(s[start+8:], "```")
	if _, err := Parse("config.md", []byte(s[start+8:start+8+end])); err != nil {
		t.Fatalf("the example in docs/config.md is not valid:\n%v", err)
	}
}

// LoadIn reads relative to the directory it is given, never the
// process's, and names the file as the user wrote it.
func TestLoadInReadsRelativeToItsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	os.WriteFile(filepath.Join(dir, "deploy", "ferry.yml"), []byte(minimal+"keep_release: 3\n"), 0o644)
	_, err := LoadIn(dir, filepath.Join("deploy", "ferry.yml"))
	want := filepath.Join("deploy", "ferry.yml") + `:4:1: unknown key "keep_release"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("LoadIn: %v, want it to start with %s", err, want)
	}
	os.WriteFile(filepath.Join(dir, "deploy", "ferry.yml"), []byte(minimal), 0o644)
	if c, err := LoadIn(dir, filepath.Join("deploy", "ferry.yml")); err != nil || c.App != "hello" {
		t.Fatalf("LoadIn: %+v, %v", c, err)
	}
	_, err = LoadIn(dir, "ferry.yml")
	if err == nil || !strings.Contains(err.Error(), "ferry.yml: no such file") || fail.Code(err) != exitcode.Usage {
		t.Fatalf("a missing file: %v (exit %d)", err, fail.Code(err))
	}
}

// problemsOf parses yaml and returns each problem's message and hints as
// fail.Format prints them, one string per problem.
func problemsOf(t *testing.T, yaml string) []string {
	t.Helper()
	_, err := Parse("ferry.yml", []byte(yaml))
	if err == nil {
		t.Fatalf("want problems, the file parsed:\n%s", yaml)
	}
	if fail.Code(err) != exitcode.Usage {
		t.Fatalf("exit code %d, want usage", fail.Code(err))
	}
	ps := fail.Problems(err)
	if ps == nil {
		ps = []error{err}
	}
	var out []string
	for _, p := range ps {
		var b strings.Builder
		fail.Format(&b, p)
		out = append(out, b.String())
	}
	return out
}

// Item 12 of the hardening issue: every problem of a file in one pass.
func TestEveryProblemInOnePass(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		want       []string // each a substring of one problem, in file order
	}{
		{"a type error does not hide the checks after it",
			"app: x\nkeep_releases: many\nhealth: {status: 9}\nenvironments: {l: {}}\n",
			[]string{`ferry.yml:2:16: keep_releases must be a whole number`, `ferry.yml:3:18: health.status 9 is not an HTTP status`}},
		{"a type error is not also a range error",
			"app: x\nkeep_releases: [1]\nenvironments: {l: {}}\n",
			[]string{`ferry.yml:2:16: keep_releases must be a whole number, not a list`}},
		{"a section of the wrong type hides only its own checks",
			"app: x\nenvironments:\n  p: {target: ssm, root: /srv/x, ssm: [a]}\n  q: {target: ftp}\n",
			[]string{`ferry.yml:3:39: environments.p.ssm must be a mapping, not a list`, `ferry.yml:4:15: unknown target "ftp"`}},
		{"every duplicate key, in maps too",
			"app: x\napp: y\nenv:\n  A: '1'\n  A: '2'\nenvironments:\n  l: {}\n  l: {}\n",
			[]string{`ferry.yml:2:1: app is set twice (first at 1:1)`, `ferry.yml:5:3: env.A is set twice (first at 4:3)`, `ferry.yml:8:3: environments.l is set twice (first at 7:3)`}},
		{"an unknown anchor at its line and column",
			"app: x\nenv: *nope\nenvironments: {l: {}}\n",
			[]string{`ferry.yml:2:6: unknown anchor "nope"`, `hint: define the anchor (&nope)`}},
		{"an alias used where it does not fit, where it is used",
			"app: x\nenv: &e {A: b}\ndir: *e\nenvironments: {l: {}}\n",
			[]string{`ferry.yml:3:6: dir must be a string, not a mapping (through alias *e; its anchor &e is at 2:6)`}},
		{"an alias as a key",
			"app: &a x\nenv: {*a : y}\nenvironments: {l: {}}\n",
			[]string{`ferry.yml:2:7: an alias (*a) cannot be a key in env`}},
		{"a merge key",
			"app: x\nbase: &b {A: '1'}\nenvironments: {l: {env: {<<: *b}}}\n",
			[]string{`ferry.yml:2:1: unknown key "base"`, `ferry.yml:3:26: merge keys (<<) are not supported in environments.l.env`}},
		{"a second document",
			"app: x\nenvironments: {l: {}}\n---\napp: y\n",
			[]string{`ferry.yml:4:1: a second YAML document starts here`, `hint: ferry.yml is one document`}},
		{"tags that make no sense in ferry.yml",
			"app: x\npython: !!binary cHl0aG9uMw==\nenv: {D: !!timestamp 2026-01-01, E: !secret x, F: !!str 5}\nshared: !!set {a, b}\nenvironments: {l: {}}\n",
			[]string{`ferry.yml:2:9: python: the tag !!binary is not allowed in ferry.yml`, `ferry.yml:3:10: env.D: the tag !!timestamp is not allowed`,
				`ferry.yml:3:37: env.E: the tag !secret is not allowed`, `ferry.yml:4:9: shared: the tag !!set is not allowed`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := problemsOf(t, tc.yaml)
			all := strings.Join(got, "")
			pos := 0
			for _, w := range tc.want {
				i := strings.Index(all[pos:], w)
				if i < 0 {
					t.Fatalf("problems lack %q (in order):\n%s", w, all)
				}
				pos += i
			}
			problems := 0
			for _, w := range tc.want {
				if !strings.HasPrefix(w, "hint:") {
					problems++
				}
			}
			if len(got) != problems {
				t.Errorf("%d problems, want %d:\n%s", len(got), problems, all)
			}
		})
	}
}

// Aliases that make a small file expand (every environment an alias of
// one large env:) are bounded, not expanded without end.
func TestAliasesCannotExpandWithoutBound(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("app: x\nenv: &E\n")
	for i := range 400 {
		fmt.Fprintf(&b, "  V%d: x\n", i)
	}
	b.WriteString("environments:\n")
	for i := range 400 {
		fmt.Fprintf(&b, "  e%d: {env: *E}\n", i)
	}
	if all := strings.Join(problemsOf(t, b.String()), ""); !strings.Contains(all, "expands to more than 100000 values through aliases") {
		t.Fatalf("problems:\n%.2000s", all)
	}
}

// ssmYAML is a valid ssm environment with one key replaced by the test.
func ssmYAML(app, ssm string) string {
	return "app: x\n" + app + "environments:\n  p:\n    target: ssm\n    root: /srv/x\n    ssm:\n      region: eu-west-1\n      bucket: ferry-artifacts\n      instance_ids: [i-0123456789abcdef0]\n" + ssm
}

// Item 11 of the hardening issue: what the agent, SSM or S3 would refuse
// is refused here, at its line with a hint, before anything is sent. Each
// of these parsed on main; where the agent is the one that refuses, the
// same value is given to the agent's own Validate, which must refuse it
// too (the rules are mirrored, not invented).
func TestInputCheckedBeforeAnythingIsSent(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	manyVars := func(n int) string {
		var b strings.Builder
		b.WriteString("env:\n")
		for i := range n {
			fmt.Fprintf(&b, "  V%d: x\n", i)
		}
		return b.String()
	}
	words := strings.TrimSpace(strings.Repeat("w ", 65))
	for _, tc := range []struct {
		name, yaml, want, hint string
		agent                  func(*agent.Spec) // the same value in a spec: the agent must refuse it
	}{
		// SSM and AWS.
		{"region without a dash", ssmEdit("eu-west-1", "euwest1"), `ssm.region "euwest1" is not a Region code`, "eu-west-1", nil},
		{"region in capitals", ssmEdit("eu-west-1", "EU-WEST-1"), `is not a Region code`, "describe-regions", nil},
		{"bucket too short", ssmEdit("ferry-artifacts", "ab"), `ssm.bucket "ab" is 2 characters`, "bucketnamingrules", nil},
		{"bucket with capitals", ssmEdit("ferry-artifacts", "Ferry-Artifacts"), `may hold only lowercase letters`, "bucketnamingrules", nil},
		{"bucket with two periods", ssmEdit("ferry-artifacts", "ferry..artifacts"), `two adjacent periods`, "", nil},
		{"bucket as an IP address", ssmEdit("ferry-artifacts", "192.168.5.4"), `formatted as an IP address`, "", nil},
		{"bucket xn-- prefix", ssmEdit("ferry-artifacts", "xn--ferry"), `must not start with "xn--"`, "", nil},
		{"bucket sthree- prefix", ssmEdit("ferry-artifacts", "sthree-ferry"), `must not start with "sthree-"`, "", nil},
		{"bucket -s3alias suffix", ssmEdit("ferry-artifacts", "ferry-s3alias"), `must not end with "-s3alias"`, "", nil},
		{"bucket --ol-s3 suffix", ssmEdit("ferry-artifacts", "ferry--ol-s3"), `must not end with "--ol-s3"`, "", nil},
		{"bucket .mrap suffix", ssmEdit("ferry-artifacts", "ferry.mrap"), `must not end with ".mrap"`, "", nil},
		{"bucket --x-s3 suffix", ssmEdit("ferry-artifacts", "ferry--x-s3"), `must not end with "--x-s3"`, "", nil},
		{"bucket of 64", ssmEdit("ferry-artifacts", long(64)), `is 64 characters`, "", nil},
		{"prefix with an empty segment", ssmYAML("", "      prefix: a//b\n"), `ssm.prefix "a//b" is not a key prefix`, "letters, digits", nil},
		{"prefix climbing", ssmYAML("", "      prefix: ../x\n"), `ssm.prefix "../x"`, "", nil},
		{"document with a space", ssmYAML("", "      document: My Document\n"), `ssm.document "My Document" is not a document name`, "3 to 128", nil},
		{"document too short", ssmYAML("", "      document: ab\n"), `ssm.document "ab"`, "", nil},
		{"max_concurrency 0%", ssmYAML("", "      rollout: {max_concurrency: 0%}\n"), `max_concurrency "0%" is not valid`, "from 1", nil},
		{"max_concurrency 101%", ssmYAML("", "      rollout: {max_concurrency: 101%}\n"), `max_concurrency "101%"`, "", nil},
		{"max_concurrency leading zero", ssmYAML("", "      rollout: {max_concurrency: '007'}\n"), `max_concurrency "007"`, "", nil},
		{"max_concurrency of 8 characters", ssmYAML("", "      rollout: {max_concurrency: '10000000'}\n"), `max_concurrency "10000000"`, "at most 7", nil},
		{"max_errors 101%", ssmYAML("", "      rollout: {max_errors: 101%}\n"), `max_errors "101%" is not valid`, "from 0", nil},
		{"max_errors 00", ssmYAML("", "      rollout: {max_errors: '00'}\n"), `max_errors "00"`, "", nil},
		{"an instance twice", ssmEdit("[i-0123456789abcdef0]", "[i-0123456789abcdef0, i-0123456789abcdef0]"), `instance i-0123456789abcdef0 is listed twice`, "remove one", nil},
		{"a managed node ID of 8 digits", ssmEdit("i-0123456789abcdef0", "mi-01234567"), `"mi-01234567" is not an instance ID`, "mi-", nil},
		{"an empty tag value", "app: x\nenvironments:\n  p: {target: ssm, root: /srv/x, ssm: {region: eu-west-1, bucket: ferry-a, tags: {Role: ''}}}\n", `tag Role: the value must have 1 to 256 characters`, "", nil},
		// ssm.repository: what git would run or read as an option.
		{"repository ext::", ssmYAML("", "      source: git\n      repository: 'ext::sh -c touch% /tmp/pwned'\n"), `transport::address form (ext::)`, "https://", func(s *agent.Spec) { s.Source = agent.Source{Kind: "git", URL: "ext::sh -c touch% /tmp/pwned"} }},
		{"repository fd::", ssmYAML("", "      source: git\n      repository: 'fd::17'\n"), `(fd::)`, "", nil},
		{"repository option", ssmYAML("", "      source: git\n      repository: '-oProxyCommand=x'\n"), `must not start with '-'`, "", func(s *agent.Spec) { s.Source = agent.Source{Kind: "git", URL: "-oProxyCommand=x"} }},
		{"repository ssh host option", ssmYAML("", "      source: git\n      repository: 'ssh://-oProxyCommand=x/repo'\n"), `starting with '-', which ssh reads as an option`, "", nil},
		{"repository with a password", ssmYAML("", "      source: git\n      repository: 'https://deploy:hunter2-token@git.example.com/app.git'\n"), `"https://deploy:***@git.example.com/app.git" holds a password`, "credentials of their own", nil},
		{"repository over http", ssmYAML("", "      source: git\n      repository: 'http://git.example.com/app.git'\n"), `is http`, "use https", nil},
		{"repository scp-like", ssmYAML("", "      source: git\n      repository: 'git@github.com:org/app.git'\n"), `scp-like syntax`, "ssh://git@host", func(s *agent.Spec) { s.Source = agent.Source{Kind: "git", URL: "git@github.com:org/app.git"} }},
		{"repository ftp", ssmYAML("", "      source: git\n      repository: 'ftp://h/app.git'\n"), `uses the ftp transport`, "", func(s *agent.Spec) { s.Source = agent.Source{Kind: "git", URL: "ftp://h/app.git"} }},
		// The agent's limits.
		{"257 variables", ssmYAML(manyVars(257), ""), `gives the app 257 variables; the agent takes at most 256`, "env_file", func(s *agent.Spec) {
			for i := range 257 {
				s.Vars[fmt.Sprintf("V%d", i)] = "x"
			}
		}},
		{"a variable name of 129", ssmYAML("env: {"+long(129)+": x}\n", ""), `is not a valid variable name`, "at most 128", func(s *agent.Spec) { s.Vars[long(129)] = "x" }},
		{"a value of 4097 bytes", ssmYAML("env: {BIG: "+long(4097)+"}\n", ""), `env BIG: the value is 4097 bytes, more than the 4096`, "env_file", func(s *agent.Spec) { s.Vars["BIG"] = long(4097) }},
		{"a value with a newline", ssmYAML("env: {KEY: \"line1\\nline2\"}\n", ""), `env KEY: the value holds a control character`, "env_file", func(s *agent.Spec) { s.Vars["KEY"] = "line1\nline2" }},
		{"root with a device name", ssmEdit("root: /srv/x", `root: 'C:\Apps\CON'`), `is a Windows device name`, "absolute path", func(s *agent.Spec) { s.Root = `C:\Apps\CON` }},
		{"root with a trailing dot", ssmEdit("root: /srv/x", "root: /srv/app./x"), `ends with a dot or a space`, "", func(s *agent.Spec) { s.Root = "/srv/app./x" }},
		{"root on a share", ssmEdit("root: /srv/x", `root: '\\server\share\app'`), `is a network, device`, "", func(s *agent.Spec) { s.Root = `\\server\share\app` }},
		{"root relative", ssmEdit("root: /srv/x", "root: srv/x"), `must be an absolute path`, "", func(s *agent.Spec) { s.Root = "srv/x" }},
		{"root a filesystem root", ssmEdit("root: /srv/x", "root: /"), `is a filesystem root`, "", func(s *agent.Spec) { s.Root = "/" }},
		{"shared device name", ssmYAML("shared: [nul.txt]\n", ""), `is a Windows device name`, "data or uploads", func(s *agent.Spec) { s.Shared = []string{"nul.txt"} }},
		{"env_file an option", ssmYAML("env_file: -rf\n", ""), `must not start with '-'`, "", func(s *agent.Spec) { s.EnvFile = "-rf" }},
		{"requirements a device", ssmYAML("requirements: reqs/aux.txt\n", ""), `component "aux.txt" is a Windows device name`, "", func(s *agent.Spec) { s.Requirements = "reqs/aux.txt" }},
		{"dir an option", ssmYAML("dir: -x\n", ""), `dir "-x" must not start with '-'`, "", func(s *agent.Spec) { s.Source.Subdir = "-x" }},
		{"start of 65 words", ssmYAML("start: "+words+"\n", ""), `start has 65 words; the agent takes at most 64`, "script", func(s *agent.Spec) { s.Start = strings.Fields(words) }},
		{"start an option", ssmYAML("start: -x app.py\n", ""), `the program "-x" must not start with '-'`, "", func(s *agent.Spec) { s.Start = []string{"-x", "app.py"} }},
		{"python an option", ssmYAML("python: -c\n", ""), `python "-c" is not an interpreter`, "python3", func(s *agent.Spec) { s.Python = "-c" }},
		{"find_links an option", ssmYAML("pip: {find_links: [-e]}\n", ""), `pip.find_links entry "-e"`, "", func(s *agent.Spec) { s.Pip.FindLinks = []string{"-e"} }},
		{"index_url without a host", ssmYAML("pip: {index_url: 'https:///simple'}\n", ""), `pip.index_url "https:///simple" is not an http(s) URL with a host`, "pypi.org", func(s *agent.Spec) { s.Pip.IndexURL = "https:///simple" }},
		{"health.url without a host", ssmYAML("health: {url: 'http:///health'}\n", ""), `health.url "http:///health" is not an http(s) URL with a host`, "", func(s *agent.Spec) { s.Health.URL = "http:///health" }},
		{"health.deadline of 2h", ssmYAML("health: {deadline: 2h}\n", ""), `health.deadline 2h0m0s is longer than 1h`, "", func(s *agent.Spec) { s.Health.Deadline = 2 * time.Hour }},
		{"stop_timeout of 2h", ssmYAML("stop_timeout: 2h\n", ""), `stop_timeout 2h0m0s is longer than 1h`, "", func(s *agent.Spec) { s.StopTimeout = 2 * time.Hour }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			all := strings.Join(problemsOf(t, tc.yaml), "")
			if !regexp.MustCompile(`^error: ferry\.yml:\d+:\d+: `).MatchString(all) || !strings.Contains(all, tc.want) || !strings.Contains(all, "hint: ") || !strings.Contains(all, tc.hint) {
				t.Fatalf("want ferry.yml:LINE:COL: …%s… with hint …%s…, got:\n%s", tc.want, tc.hint, all)
			}
			if tc.agent != nil {
				s := validSpec()
				if err := s.Validate(); err != nil {
					t.Fatalf("the base spec is invalid: %v", err)
				}
				tc.agent(&s)
				if err := s.Validate(); err == nil {
					t.Errorf("the agent accepts what ferry.yml refuses: the rule is not the agent's")
				}
			}
		})
	}
}

// validSpec is an apply spec the agent accepts.
func validSpec() agent.Spec {
	return agent.Spec{Protocol: agent.Protocol, Op: agent.OpApply, Root: "/srv/x", App: "x", Environment: "p",
		SHA: strings.Repeat("a", 40), Source: agent.Source{Kind: "git", URL: "https://git.example.com/x.git", Subdir: "."},
		Start: []string{"python", "app.py"}, Python: "python3", Requirements: "requirements.txt", Vars: map[string]string{},
		Health:      agent.HealthSpec{URL: "http://127.0.0.1:8000/health", Status: 200, Deadline: time.Minute, Interval: time.Second},
		StopTimeout: 10 * time.Second, KeepReleases: 5, KeepFailed: 3}
}

// ssmEdit is the valid ssm environment with old replaced by new.
func ssmEdit(old, new string) string { return strings.Replace(ssmYAML("", ""), old, new, 1) }

// TestHooks reads a hook as one vector or a list of vectors, and refuses
// a shell string where it is written.
func TestHooks(t *testing.T) {
	c, err := Parse("ferry.yml", []byte("app: x\nhooks:\n  before_switch: [python, -m, flask, --app, flaskr, init-db]\n  after_healthy:\n    - [echo, up]\n    - [echo, '$HOME']\n  timeout: 2m\nenvironments: {l: {}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Hooks.BeforeSwitch; len(got) != 1 || strings.Join(got[0], " ") != "python -m flask --app flaskr init-db" {
		t.Errorf("before_switch = %q", got)
	}
	if got := c.Hooks.AfterHealthy; len(got) != 2 || got[1][1] != "$HOME" {
		t.Errorf("after_healthy = %q", got)
	}
	if c.Hooks.Timeout != 2*time.Minute {
		t.Errorf("timeout = %s", c.Hooks.Timeout)
	}
	for yml, want := range map[string]string{
		"app: x\nhooks:\n  before_switch: flask init-db\nenvironments: {l: {}}\n":            "ferry.yml:3:18: hooks.before_switch is a string; a hook is an argument vector, never a shell string",
		"app: x\nhooks:\n  on_failure: [echo, [a]]\nenvironments: {l: {}}\n":                 "ferry.yml:3:22: hooks.on_failure[1] is a list in a command of words",
		"app: x\nhooks:\n  on_failure:\n    - [echo]\n    - echo x\nenvironments: {l: {}}\n": "ferry.yml:5:7: hooks.on_failure[1] is a string in a list of commands",
		"app: x\nhooks:\n  after_healthy: [[-x, y]]\nenvironments: {l: {}}\n":                `ferry.yml:3:19: hooks.after_healthy: the program "-x" must not be empty or start with '-'`,
		"app: x\nhooks:\n  before_swich: [a]\nenvironments: {l: {}}\n":                       `ferry.yml:3:3: unknown key "before_swich" in hooks`,
		"app: x\nhooks:\n  before_switch: {a: b}\nenvironments: {l: {}}\n":                   "ferry.yml:3:18: hooks.before_switch must be a list, not a mapping",
	} {
		_, err := Parse("ferry.yml", []byte(yml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\n got %v\nwant %s", yml, err, want)
		}
	}
}

// TestDevRequirementsRefused: requirements-dev.txt is for the machines
// that test, never installed on a server.
func TestDevRequirementsRefused(t *testing.T) {
	for _, name := range []string{"requirements-dev.txt", "dev-requirements.txt", "requirements/dev.txt", "requirements_test.txt", "test.txt"} {
		_, err := Parse("ferry.yml", []byte("app: a\nrequirements: "+name+"\nenvironments: {local: {}}\n"))
		if err == nil || !strings.Contains(err.Error(), "development requirements file") {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"requirements.txt", "requirements/prod.txt", "pyproject.toml", "requirements.lock", "latest.txt"} {
		if _, err := Parse("ferry.yml", []byte("app: a\nrequirements: "+name+"\nenvironments: {local: {}}\n")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRuntime: runtime is python, node or none; python: none is runtime
// none; the Python tools' gates are off for other runtimes unless turned on.
func TestRuntime(t *testing.T) {
	parse := func(extra string) (*Config, error) {
		return Parse("ferry.yml", []byte("app: a\n"+extra+"environments: {local: {}}\n"))
	}
	if c, err := parse(""); err != nil || c.Runtime != RuntimePython {
		t.Fatalf("default: %v %v", c, err)
	}
	if c, err := parse("python: none\n"); err != nil || c.Runtime != RuntimeNone {
		t.Fatalf("python: none: %v %v", c, err)
	}
	c, err := parse("runtime: node\ngates: {tests: {enabled: true}}\n")
	if err != nil || c.Runtime != RuntimeNode {
		t.Fatalf("runtime node: %v %v", c, err)
	}
	if !*c.Gates.Tests.Enabled || *c.Gates.Flake8.Enabled || *c.Gates.Smoke.Enabled || c.Gates.Env.Enabled != nil {
		t.Fatal("runtime node: the Python gates are not off (or a gate turned on stayed off)")
	}
	for _, bad := range []string{"runtime: ruby\n", "runtime: node\npython: none\n"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
