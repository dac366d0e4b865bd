package cli_test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOnTheExample(t *testing.T) {
	t.Parallel()
	slow(t)
	for _, tool := range []string{"pytest", "flake8", "pylint", "bandit"} {
		need(t, tool)
	}
	dir := t.TempDir()
	junit, sarif := filepath.Join(dir, "gates.xml"), filepath.Join(dir, "gates.sarif")
	example, _ := filepath.Abs(filepath.Join("..", "..", "examples", "hello"))
	r := ferryIn(t, example, nil, "check", "--json", "--junit", junit, "--sarif", sarif)
	if r.code != 0 {
		t.Fatalf("ferry check on examples/hello: %s", r)
	}
	var env struct {
		Result struct {
			Passed bool `json:"passed"`
			Gates  []struct {
				Name, Status string
			} `json:"gates"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.out), &env); err != nil || !env.Result.Passed {
		t.Fatalf("json report: %v %s", err, r.out)
	}
	rep := env.Result
	status := map[string]string{}
	for _, g := range rep.Gates {
		status[g.Name] = g.Status
	}
	for _, g := range []string{"tests", "audit", "flake8", "pylint", "smoke", "env", "deps"} {
		if status[g] != "passed" {
			t.Errorf("gate %s is %q on the example", g, status[g])
		}
	}
	b, _ := os.ReadFile(junit)
	var suites struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) < 7 {
		t.Fatalf("junit: %v %s", err, b)
	}
	found := false
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			found = found || strings.Contains(c.Name, "test_serves_health_over_http")
		}
	}
	if !found {
		t.Fatal("the junit report lacks pytest's own test cases")
	}
	var sar map[string]any
	if b, _ := os.ReadFile(sarif); json.Unmarshal(b, &sar) != nil || sar["version"] != "2.1.0" {
		t.Fatalf("sarif: %s", b)
	}
}

func TestDeployRefusedByABlockingGate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("ferry.yml", strings.Replace(f.configText(""), "env: {required: [PORT]}", "env: {required: [PORT, DATABASE_URL]}", 1))
	f.commit("require a database")
	r := f.ferry("deploy", "test")
	if r.code != 6 || !strings.Contains(r.err, "deploy refused: blocking gate env failed") || !strings.Contains(r.err, "DATABASE_URL") {
		t.Fatalf("want exit 6 naming the gate and the variable: %s", r)
	}
	if _, err := os.Stat(filepath.Join(f.root, "state.json")); !os.IsNotExist(err) {
		t.Fatal("a refused deploy touched the target")
	}
	r = f.ferry("deploy", "test", "--skip-gates", "--json")
	if r.code != 0 {
		t.Fatalf("--skip-gates: %s", r)
	}
	if d := decodeDeploy(t, r); !d.GatesSkipped || !strings.Contains(r.err, "quality gates skipped") {
		t.Fatalf("skipping the gates must be recorded and said: %s", r)
	}
}
