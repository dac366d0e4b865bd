package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	} {
		got, err := SplitCommand(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`python $HOME`, `a | b`, `"open`, `x; y`, ""} {
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
