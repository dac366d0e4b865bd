package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/testing/golden"
)

// pipeline is the pipeline issue 13 asked for: dev deploys development,
// master deploys production after an approval.
func pipeline() Model {
	return Model{
		App:      "billing",
		Platform: PlatformWindows,
		Environments: []Environment{
			{Name: "development", Branch: "dev", URL: "https://dev.billing.example.com"},
			{Name: "production", Branch: "master", URL: "https://billing.example.com", Production: true},
		},
		AppRequirements: "requirements.txt",
		Secrets:         []string{"DATABASE_URL", "SLACK_WEBHOOK_URL", "DATABASE_URL"},
	}
}

func render(t *testing.T, m Model) map[string][]byte {
	t.Helper()
	files, err := Render(m)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[f.Path] = f.Data
	}
	return out
}

// TestRenderGolden keeps each generated file under testdata/, so that a
// change to a workflow is reviewed as a diff (go test -update rewrites).
func TestRenderGolden(t *testing.T) {
	files := render(t, pipeline())
	want := []string{CheckPath, CICDPath, DeployPath, RollbackPath, DefaultGateRequirements}
	if len(files) != len(want) {
		t.Fatalf("Render wrote %d files, want %v", len(files), want)
	}
	for _, p := range want {
		b, ok := files[p]
		if !ok {
			t.Fatalf("Render did not write %s", p)
		}
		golden.Assert(t, "golden/"+p, string(b))
	}
}

// wf is the part of a workflow the structure tests read.
type wf struct {
	On          map[string]yaml.Node `yaml:"on"`
	Permissions map[string]string    `yaml:"permissions"`
	Jobs        map[string]struct {
		Uses        string            `yaml:"uses"`
		Needs       any               `yaml:"needs"`
		If          string            `yaml:"if"`
		Permissions map[string]string `yaml:"permissions"`
		Environment struct {
			Name string `yaml:"name"`
			URL  string `yaml:"url"`
		} `yaml:"environment"`
		Concurrency struct {
			Group            string `yaml:"group"`
			CancelInProgress bool   `yaml:"cancel-in-progress"`
		} `yaml:"concurrency"`
		With    map[string]string `yaml:"with"`
		Secrets yaml.Node         `yaml:"secrets"`
		Steps   []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func parse(t *testing.T, b []byte) wf {
	t.Helper()
	var w wf
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatalf("yaml: %v\n%s", err, b)
	}
	return w
}

// TestHardening reads every workflow back and checks what the issue asks
// of each, independently of the lint rule that also enforces it.
func TestHardening(t *testing.T) {
	files := render(t, pipeline())
	for _, p := range []string{CheckPath, CICDPath, DeployPath, RollbackPath} {
		w := parse(t, files[p])
		if w.Permissions == nil || len(w.Permissions) != 0 || !strings.Contains(string(files[p]), "\npermissions: {}\n") {
			t.Errorf("%s: top-level permissions %v, want {}", p, w.Permissions)
		}
		if strings.Contains(string(files[p]), "secrets: inherit") {
			t.Errorf("%s passes secrets: inherit", p)
		}
		for id, j := range w.Jobs {
			if j.Permissions["contents"] != "read" {
				t.Errorf("%s job %s: contents %q, want read", p, id, j.Permissions["contents"])
			}
			makesCreds := j.Uses == "./"+DeployPath
			// A call of ferry-check.yml or ferry-deploy.yml uploads SARIF there.
			uploadsSARIF := j.Uses == "./"+CheckPath || j.Uses == "./"+DeployPath
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "${{") {
					t.Errorf("%s job %s step %q: ${{ }} inside run:", p, id, s.Name)
				}
				if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["persist-credentials"] != "false" {
					t.Errorf("%s job %s: checkout persists credentials", p, id)
				}
				makesCreds = makesCreds || strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@v6")
				uploadsSARIF = uploadsSARIF || strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@v4")
			}
			if (j.Permissions["id-token"] == "write") != makesCreds {
				t.Errorf("%s job %s: id-token %q, credentials made: %v", p, id, j.Permissions["id-token"], makesCreds)
			}
			if (j.Permissions["security-events"] == "write") != uploadsSARIF {
				t.Errorf("%s job %s: security-events %q, SARIF uploaded: %v", p, id, j.Permissions["security-events"], uploadsSARIF)
			}
		}
	}
}

func TestTriggersAndJobs(t *testing.T) {
	files := render(t, pipeline())

	check := parse(t, files[CheckPath])
	for _, ev := range []string{"pull_request", "push", "workflow_dispatch", "workflow_call"} {
		if _, ok := check.On[ev]; !ok {
			t.Errorf("ferry-check.yml is not triggered by %s", ev)
		}
	}
	if !strings.Contains(string(files[CheckPath]), "branches-ignore:\n      - \"dev\"\n      - \"master\"") {
		t.Errorf("ferry-check.yml runs on pushes to dev and master too (ferry-cicd.yml runs the gates there)")
	}
	steps := check.Jobs["check"].Steps
	var run string
	var sarif, junit bool
	for _, s := range steps {
		if strings.Contains(s.Run, "ferry check") {
			run = s.Run
		}
		sarif = sarif || strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@") && s.With["sarif_file"] != ""
		junit = junit || strings.HasPrefix(s.Uses, "actions/upload-artifact@") && strings.HasSuffix(s.With["path"], "junit.xml")
	}
	if !strings.Contains(run, "--junit") || !strings.Contains(run, "--sarif") || !sarif || !junit {
		t.Errorf("ferry-check.yml: junit/sarif written %v, SARIF uploaded %v, JUnit uploaded %v", run != "", sarif, junit)
	}

	cicd := parse(t, files[CICDPath])
	if _, ok := cicd.On["workflow_dispatch"]; !ok {
		t.Errorf("ferry-cicd.yml cannot be run by hand")
	}
	// The gates run once: inside ferry deploy on a deploying branch, as
	// ferry-check.yml on a branch that deploys nowhere.
	deploy, gates := cicd.Jobs["deploy"], cicd.Jobs["gates"]
	if deploy.Uses != "./"+DeployPath || deploy.Needs != nil || gates.Uses != "./"+CheckPath ||
		deploy.If != "${{ github.ref == 'refs/heads/dev' || github.ref == 'refs/heads/master' }}" ||
		gates.If != "${{ !(github.ref == 'refs/heads/dev' || github.ref == 'refs/heads/master') }}" {
		t.Errorf("ferry-cicd.yml: gates %q if %q, deploy %q if %q needs %v", gates.Uses, gates.If, deploy.Uses, deploy.If, deploy.Needs)
	}
	if got := deploy.With["environment"]; got != "${{ github.ref == 'refs/heads/dev' && 'development' || github.ref == 'refs/heads/master' && 'production' || '' }}" {
		t.Errorf("environment by branch: %s", got)
	}
	if deploy.Secrets.Kind != yaml.MappingNode || len(deploy.Secrets.Content) != 4 {
		t.Errorf("ferry-cicd.yml passes secrets %v, want DATABASE_URL and SLACK_WEBHOOK_URL by name", deploy.Secrets.Value)
	}

	d := parse(t, files[DeployPath])
	if _, ok := d.On["workflow_call"]; !ok || len(d.On) != 1 {
		t.Errorf("ferry-deploy.yml triggers %v, want workflow_call only", d.On)
	}
	job := d.Jobs["deploy"]
	if job.Environment.Name != "${{ inputs.environment }}" || !strings.Contains(job.Environment.URL, "'https://billing.example.com'") {
		t.Errorf("deploy environment %+v", job.Environment)
	}
	if job.Concurrency.Group != "ferry-billing-${{ inputs.environment }}" || job.Concurrency.CancelInProgress {
		t.Errorf("deploy concurrency %+v", job.Concurrency)
	}
	var order []string
	for _, s := range job.Steps {
		switch {
		case strings.Contains(s.Run, "ferry doctor"):
			order = append(order, "doctor")
		case strings.Contains(s.Run, "ferry deploy"):
			order = append(order, "deploy")
			if s.Env["DATABASE_URL"] != "${{ secrets.DATABASE_URL }}" {
				t.Errorf("the deploy step does not get DATABASE_URL by name: %v", s.Env)
			}
		case strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@"):
			order = append(order, "credentials")
			if s.With["role-to-assume"] != "${{ vars.FERRY_AWS_ROLE_ARN }}" {
				t.Errorf("role-to-assume %q", s.With["role-to-assume"])
			}
		}
	}
	if strings.Join(order, ",") != "credentials,doctor,deploy" {
		t.Errorf("deploy steps %v, want credentials, doctor, deploy", order)
	}

	r := parse(t, files[RollbackPath])
	var in struct {
		WorkflowDispatch struct {
			Inputs map[string]struct {
				Type     string   `yaml:"type"`
				Required bool     `yaml:"required"`
				Options  []string `yaml:"options"`
			} `yaml:"inputs"`
		} `yaml:"workflow_dispatch"`
	}
	if err := yaml.Unmarshal(files[RollbackPath], &struct {
		On any `yaml:"on"`
	}{}); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		On yaml.Node `yaml:"on"`
	}
	yaml.Unmarshal(files[RollbackPath], &raw)
	if err := raw.On.Decode(&in); err != nil {
		t.Fatal(err)
	}
	env := in.WorkflowDispatch.Inputs["environment"]
	if env.Type != "choice" || !env.Required || strings.Join(env.Options, ",") != "development,production" {
		t.Errorf("rollback environment input %+v", env)
	}
	if to := in.WorkflowDispatch.Inputs["to"]; to.Type != "string" || to.Required {
		t.Errorf("rollback to input %+v", to)
	}
	if rb := r.Jobs["rollback"]; rb.Concurrency.Group != job.Concurrency.Group {
		t.Errorf("rollback queue %q is not the deploy's %q", rb.Concurrency.Group, job.Concurrency.Group)
	}
}

// TestPlatformPicksTheGatesRunner: the gates run where the app runs, in
// ferry-check.yml and in the deploy (ferry deploy runs them); rollbacks
// only call AWS and run on Linux.
func TestPlatformPicksTheGatesRunner(t *testing.T) {
	for _, c := range []struct {
		p    Platform
		want string
	}{{PlatformWindows, "windows-latest"}, {"", "windows-latest"}, {PlatformLinux, "ubuntu-latest"}} {
		m := pipeline()
		m.Platform = c.p
		files := render(t, m)
		if !strings.Contains(string(files[CheckPath]), "runs-on: "+c.want+"\n") {
			t.Errorf("platform %q: gates do not run on %s", c.p, c.want)
		}
		if !strings.Contains(string(files[DeployPath]), "runs-on: "+c.want+"\n") {
			t.Errorf("platform %q: the deploy (and its gates) does not run on %s", c.p, c.want)
		}
		if !strings.Contains(string(files[RollbackPath]), "runs-on: ubuntu-latest\n") {
			t.Errorf("platform %q: rollback does not run on ubuntu-latest", c.p)
		}
	}
}

func TestOptionalParts(t *testing.T) {
	m := Model{App: "hello", Environments: []Environment{{Name: "production"}}, FerryVersion: "1.2.3", FerryDownloadURL: "https://mirror.example.com/ferry"}
	files := render(t, m)
	if _, ok := files[CICDPath]; ok {
		t.Errorf("ferry-cicd.yml written though no environment deploys on push")
	}
	check := string(files[CheckPath])
	if strings.Contains(check, "branches-ignore") || strings.Contains(check, "secrets:") || strings.Contains(check, "app's dependencies") {
		t.Errorf("ferry-check.yml has sections for nothing:\n%s", check)
	}
	if !strings.Contains(check, "version: \"1.2.3\"") || !strings.Contains(check, "download-url: \"https://mirror.example.com/ferry\"") {
		t.Errorf("ferry's version and mirror are not passed to the action")
	}
	if !strings.Contains(string(files[DeployPath]), "url: ${{ '' }}") {
		t.Errorf("an environment without a URL gets one")
	}
}

func TestModelRefused(t *testing.T) {
	ok := pipeline()
	for name, mutate := range map[string]func(*Model){
		"app":             func(m *Model) { m.App = "bad app" },
		"no environments": func(m *Model) { m.Environments = nil },
		"quote in name":   func(m *Model) { m.Environments[0].Name = "dev'" },
		"twice":           func(m *Model) { m.Environments[1].Name = "development" },
		"branch twice":    func(m *Model) { m.Environments[1].Branch = "dev" },
		"branch":          func(m *Model) { m.Environments[0].Branch = "dev ${{ x }}" },
		"url":             func(m *Model) { m.Environments[0].URL = "javascript:alert(1)" },
		"url quote":       func(m *Model) { m.Environments[0].URL = "https://x.example.com/'" },
		"secret":          func(m *Model) { m.Secrets = []string{"github_token"} },
		"secret github":   func(m *Model) { m.Secrets = []string{"GITHUB_TOKEN"} },
		"secret aws":      func(m *Model) { m.Secrets = []string{"AWS_SECRET_ACCESS_KEY"} },
		"action":          func(m *Model) { m.Actions.Checkout = "actions/checkout" },
		"version":         func(m *Model) { m.FerryVersion = "1.x" },
		"platform":        func(m *Model) { m.Platform = "macos" },
		"config":          func(m *Model) { m.Config = "../ferry.yml" },
		"pin":             func(m *Model) { m.GatePins = map[string]string{"pytest": ">=8"} },
		"python":          func(m *Model) { m.PythonVersion = "3" },
	} {
		m := ok
		m.Environments = append([]Environment(nil), ok.Environments...)
		mutate(&m)
		_, err := Render(m)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if fail.Code(err) != exitcode.Usage || len(fail.Hints(fail.Problems(err)[0])) == 0 || strings.ToLower(err.Error()[:1]) != err.Error()[:1] {
			t.Errorf("%s: %v (code %d), want a usage error with a hint", name, err, fail.Code(err))
		}
	}
}

func TestGateRequirementsRoundTrip(t *testing.T) {
	b := GateRequirementsFile(map[string]string{"pytest": "9.2.0", "flake8": "7.5.0"})
	if !strings.Contains(string(b), "flake8==7.5.0\npytest==9.2.0\n") {
		t.Errorf("not sorted exact pins:\n%s", b)
	}
	pins, err := ParseGateRequirements(b)
	if err != nil || len(pins) != 2 || pins["pytest"] != "9.2.0" {
		t.Errorf("ParseGateRequirements: %v %v", pins, err)
	}
	if _, err := ParseGateRequirements([]byte("pytest>=9\n")); err == nil {
		t.Errorf("a range was accepted as a pin")
	}
	m := pipeline()
	m.GatePins = pins
	if got := render(t, m)[DefaultGateRequirements]; string(got) != string(b) {
		t.Errorf("Render did not keep the pins:\n%s", got)
	}
}

func writeFiles(t *testing.T, root string, files []File) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCompareAndWrite(t *testing.T) {
	files, err := Render(pipeline())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	d, err := Compare(root, files)
	if err != nil || d.Clean() || d[0].State != New || !strings.HasPrefix(d[0].Diff, "diff /dev/null b/"+CheckPath) {
		t.Fatalf("empty repository: %v %v\n%.200s", d, err, d.Diff())
	}
	if _, err := Write(root, files, false); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if d, _ := Compare(root, files); !d.Clean() {
		t.Fatalf("after Write: not clean:\n%s", d.Diff())
	}

	// A person's edit: shown as a unified diff, kept without --force.
	p := filepath.Join(root, filepath.FromSlash(DeployPath))
	orig, _ := os.ReadFile(p)
	edited := strings.Replace(string(orig), "timeout-minutes: 90", "timeout-minutes: 30", 1)
	os.WriteFile(p, []byte(edited), 0o644)
	d, _ = Compare(root, files)
	if d.Clean() || d[2].State != Changed || !strings.Contains(d[2].Diff, "-    timeout-minutes: 30\n+    timeout-minutes: 90\n") || !strings.Contains(d[2].Diff, "--- a/"+DeployPath) {
		t.Fatalf("edited file: %+v\n%s", d[2].State, d.Diff())
	}
	if _, err := Write(root, files, false); err == nil || len(fail.Hints(err)) == 0 || !strings.Contains(err.Error(), DeployPath) {
		t.Fatalf("Write without force: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != edited {
		t.Fatalf("Write without force replaced the edit")
	}
	if _, err := Write(root, files, true); err != nil {
		t.Fatal(err)
	}
	if d, _ := Compare(root, files); !d.Clean() {
		t.Fatalf("after --force: not clean")
	}

	// git's autocrlf on Windows is not drift.
	os.WriteFile(p, []byte(strings.ReplaceAll(string(orig), "\n", "\r\n")), 0o644)
	if d, _ := Compare(root, files); !d.Clean() {
		t.Errorf("CRLF checkout reads as drift")
	}
}

// TestLintFindsWhatHardeningForbids edits a generated workflow the way a
// person might and checks each finding's rule and position.
func TestLintFindsWhatHardeningForbids(t *testing.T) {
	files := render(t, pipeline())
	for name, c := range map[string]struct {
		file, from, to, want string
	}{
		"expression in run": {DeployPath, `ferry doctor "$FERRY_ENVIRONMENT"`, `ferry doctor ${{ inputs.environment }}`, "a run: script holds ${{ }}"},
		"persisted creds":   {RollbackPath, "          persist-credentials: false\n", "          fetch-depth: 1\n", "persist-credentials: false"},
		"top write-all":     {CheckPath, "\npermissions: {}\n", "\npermissions: write-all\n", "top-level permissions must be {}"},
		"no job perms":      {RollbackPath, "    permissions:\n      contents: read\n      id-token: write\n", "", "must set its permissions"},
		"extra write":       {CheckPath, "      actions: read\n", "      actions: read\n      pull-requests: write\n", "which no ferry step needs"},
		"id-token no creds": {CheckPath, "      actions: read\n", "      actions: read\n      id-token: write\n", "asks for id-token: write but makes no AWS credentials"},
		"inherit":           {CICDPath, "    secrets:\n      DATABASE_URL: ${{ secrets.DATABASE_URL }}\n      SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}\n\n  gates:", "    secrets: inherit\n\n  gates:", "secrets: inherit"},
		"branch ref":        {DeployPath, "aws-actions/configure-aws-credentials@v6", "aws-actions/configure-aws-credentials@main", "not pinned"},
	} {
		t.Run(name, func(t *testing.T) {
			var fs []File
			for _, p := range []string{CheckPath, CICDPath, DeployPath, RollbackPath} {
				b := string(files[p])
				if p == c.file {
					if !strings.Contains(b, c.from) {
						t.Fatalf("%s has no %q", p, c.from)
					}
					b = strings.Replace(b, c.from, c.to, 1)
				}
				fs = append(fs, File{Path: p, Data: []byte(b)})
			}
			got, err := LintFiles(fs)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, f := range got {
				if f.File != c.file {
					t.Errorf("finding in an unedited file: %s", f)
				}
				s := f.String()
				if !strings.HasPrefix(s, c.file+":") || f.Line < 1 || f.Col < 1 {
					t.Errorf("finding %q is not file:line:col: message [rule]", s)
				}
				if c.want == "" || strings.Contains(f.Message, c.want) && f.Rule == HardeningRule {
					found = true
				}
			}
			if !found {
				t.Errorf("no finding %q; got %v", c.want, got)
			}
		})
	}
}

// TestLintPaths lints files on disk: a directory, the ferry ones held to
// the hardening rules, a hand-written one to actionlint's alone.
func TestLintPaths(t *testing.T) {
	files, err := Render(pipeline())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, ".git"), 0o755)
	writeFiles(t, root, files)
	dir := filepath.Join(root, ".github", "workflows")
	// A hand-written workflow: no permissions: {} (fine outside ferry's
	// files), but a typo in an expression actionlint catches.
	own := "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.shaa }}\"\n"
	os.WriteFile(filepath.Join(dir, "own.yaml"), []byte(own), 0o644)

	got, err := Lint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Rule != "expression" || got[0].File != filepath.Join(dir, "own.yaml") || got[0].Line != 6 {
		t.Fatalf("Lint(%s) = %v, want the one expression finding in own.yaml:6", dir, got)
	}
	if !strings.HasSuffix(got[0].String(), "[expression]") {
		t.Errorf("finding format %q", got[0])
	}

	// A ferry file edited by hand is held to the hardening rules.
	p := filepath.Join(root, filepath.FromSlash(RollbackPath))
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "persist-credentials: false", "persist-credentials: true", 1)), 0o644)
	got, err = Lint(p)
	if err != nil || len(got) != 1 || got[0].Rule != HardeningRule {
		t.Fatalf("Lint(edited rollback) = %v, %v", got, err)
	}

	if _, err := Lint(filepath.Join(root, "missing.yml")); fail.Code(err) != exitcode.Usage {
		t.Errorf("a missing path: %v", err)
	}
}
