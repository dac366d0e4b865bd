package gates

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/testing/golden"
)

func reportWriters() map[string]func(io.Writer, *Report) error {
	return map[string]func(io.Writer, *Report) error{
		"terminal": func(w io.Writer, r *Report) error { return WriteTerminal(w, r, false) },
		"color":    func(w io.Writer, r *Report) error { return WriteTerminal(w, r, true) },
		"json":     WriteJSON,
		"markdown": WriteMarkdown,
		"junit":    WriteJUnit,
		"sarif":    func(w io.Writer, r *Report) error { return WriteSARIF(w, r, "") },
	}
}

// sampleReport has one gate of every interesting status.
func sampleReport() *Report {
	return fixedReport(2500*time.Millisecond, []Result{
		{Name: GateTests, Tool: "pytest", Status: StatusFailed, Blocking: true, Duration: 1200 * time.Millisecond,
			Summary: "1 passed, 1 failed, 0 skipped · coverage 84.1%",
			Figures: map[string]float64{"passed": 1, "failed": 1, "coverage": 84.1},
			Tests: []TestCase{
				{Name: "test_ok", Classname: "tests.test_app", Status: CasePassed, Duration: 10 * time.Millisecond},
				{Name: "test_bad", Classname: "tests.test_app", Status: CaseFailed, Message: "assert 1 == 2", Detail: "E assert 1 == 2 <&>"},
			},
			Output: "FAILED tests/test_app.py::test_bad | pipe", Hint: "fix the failing tests"},
		{Name: GateBandit, Tool: "bandit", Status: StatusWarned, Blocking: false, Duration: 300 * time.Millisecond,
			Summary: "findings: 1 high, 0 medium, 1 low",
			Findings: []Finding{
				{File: "app.py", Line: 28, Column: 12, Rule: "B602", RuleName: "subprocess_popen_with_shell_equals_true", Severity: "HIGH", Level: "error", Message: "subprocess call with shell=True", HelpURI: "https://bandit.example/b602"},
				{File: "pkg/util.py", Line: 3, Rule: "B404", RuleName: "blacklist", Severity: "LOW", Level: "note", Message: "subprocess module"},
				{File: "app.py", Line: 40, Column: 5, Rule: "B602", RuleName: "subprocess_popen_with_shell_equals_true", Severity: "HIGH", Level: "error", Message: "again"},
			}},
		{Name: GateFlake8, Tool: "flake8", Status: StatusPassed, Blocking: true, Duration: 90 * time.Millisecond, Summary: "no findings"},
		{Name: GateAudit, Tool: "pip-audit", Status: StatusMissing, Blocking: true, Summary: "pip-audit is not installed", Hint: pipAuditMissingHint},
		{Name: GateSafety, Tool: "safety", Status: StatusMissing, Blocking: false, Summary: "safety is not installed"},
		{Name: GatePylint, Tool: "pylint", Status: StatusSkipped, Blocking: false, Summary: "disabled"},
		{Name: "migrations", Tool: "sh", Status: StatusTimeout, Blocking: true, Duration: time.Second, Summary: "timed out after 1s"},
	})
}

// fixedReport is a failed run of gates with nothing in it that varies from
// one test run to the next: the time, the paths and every duration are set.
func fixedReport(d time.Duration, gates []Result) *Report {
	return &Report{Passed: false, Started: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Duration: d,
		AppDir: "/srv/app", Python: "/srv/app/.venv/bin/python", Gates: gates}
}

// render writes rep with one of reportWriters, failing the test on an error.
func render(t *testing.T, format string, rep *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := reportWriters()[format](&buf, rep); err != nil {
		t.Fatalf("%s report: %v", format, err)
	}
	return buf.String()
}

// detailReport has what sampleReport leaves out: an audit with the notes
// the terminal shows for it alone, more findings than the terminal and
// Markdown list, and output of several lines with a code fence in it.
func detailReport() *Report {
	var many []Finding
	for i := 1; i <= 52; i++ {
		many = append(many, Finding{File: "app.py", Line: i, Column: 80, Rule: "E501", Severity: "E", Level: "warning",
			Message: fmt.Sprintf("line too long (%d > 79 characters)", 80+i)})
	}
	return fixedReport(135*time.Second, []Result{
		{Name: GateAudit, Tool: "ferry offline audit (OSV)", Status: StatusFailed, Blocking: true, Duration: 40 * time.Millisecond,
			Summary: "1 vulnerability in 1 of 2 dependencies · 1 not audited",
			Findings: []Finding{
				{File: "requirements.txt", Line: 4, Rule: "PYSEC-2019-217", Severity: "vulnerability", Level: "error",
					Message: "jinja2 2.10 is affected by PYSEC-2019-217 (CVE-2019-10906); fixed in 2.10.1"},
				{File: "requirements.txt", Line: 7, Rule: "not-audited", Severity: "skipped", Level: "note",
					Message: "requests: not pinned, cannot audit"},
			},
			Hint: "upgrade to a fixed version, or accept a known risk in gates.audit.ignore"},
		{Name: GateFlake8, Tool: "/srv/app/.venv/bin/flake8", Status: StatusFailed, Blocking: true, Duration: 61 * time.Second,
			Summary: "52 findings: 52 E", Findings: many,
			Output: "first line\n```\nlast line", Hint: "fix the findings"},
		{Name: GateEnv, Tool: "(built-in)", Status: StatusPassed, Blocking: true, Summary: "1 required variable present",
			Tests: []TestCase{{Name: "APP_SECRET_KEY", Classname: "env", Status: CasePassed}}},
	})
}

// TestReportsGolden pins every report of sampleReport and detailReport to
// a file under testdata/reports: a change to a report shows as a diff
// there (go test -update rewrites them). The tests below check the
// properties that must hold whatever the wording.
func TestReportsGolden(t *testing.T) {
	files := map[string]string{
		"terminal": "terminal.txt", "color": "terminal-color.txt", "markdown": "summary.md",
		"junit": "junit.xml", "sarif": "sarif.json",
	}
	for name, rep := range map[string]func() *Report{"sample": sampleReport, "detail": detailReport} {
		for format, file := range files {
			if name == "detail" && format == "sarif" {
				continue // fifty-two alike results; sample has SARIF's cases
			}
			t.Run(name+"/"+format, func(t *testing.T) {
				golden.Assert(t, "reports/"+name+"/"+file+".golden", render(t, format, rep()))
			})
		}
	}
}

func TestTerminalReport(t *testing.T) {
	rep := sampleReport()
	out, colored := render(t, "terminal", rep), render(t, "color", rep)
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without colour")
	}
	if !strings.Contains(colored, ansi.Red) {
		t.Error("no red in the coloured report")
	}
	// Columns line up: STATUS starts at the same offset in every row.
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1 : 1+len(rep.Gates)] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("misaligned row %q (STATUS at %d)", l, col)
		}
	}
	if strings.Contains(out, "B404") {
		t.Error("low-severity notes should stay out of the terminal")
	}
}

func TestJSONReportFieldNames(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Passed           bool     `json:"passed"`
		DurationMS       int64    `json:"duration_ms"`
		BlockingFailures []string `json:"blocking_failures"`
		Gates            []map[string]json.RawMessage
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Passed || doc.DurationMS != 2500 || strings.Join(doc.BlockingFailures, ",") != "tests,audit,migrations" {
		t.Errorf("top level: %+v", doc)
	}
	for _, key := range []string{"name", "tool", "status", "blocking", "duration_ms", "summary", "figures", "tests", "output", "hint"} {
		if _, ok := doc.Gates[0][key]; !ok {
			t.Errorf("gate JSON has no %q: %s", key, buf.String()[:400])
		}
	}
	var tc []map[string]any
	_ = json.Unmarshal(doc.Gates[0]["tests"], &tc)
	if tc[0]["duration_ms"] != float64(10) || tc[1]["status"] != "failed" {
		t.Errorf("test cases: %v", tc)
	}
	for _, bad := range []string{`"Duration"`, `"Figures"`, `"RuleName"`} {
		if strings.Contains(buf.String(), bad) {
			t.Errorf("JSON has Go field name %s", bad)
		}
	}
}

func TestMarkdownReport(t *testing.T) {
	out := render(t, "markdown", sampleReport())
	if strings.Count(out, "<details>") != 5 {
		t.Errorf("want a collapsed section for each of the 5 gates that did not pass:\n%s", out)
	}
	// Output goes into a code fence as it is; in a table cell | is escaped.
	wantContains(t, "markdown", out, "\nFAILED tests/test_app.py::test_bad | pipe\n")
}

type junitSuiteCounts struct {
	Tests, Failures, Errors, Skipped int
	Cases                            []string
}

func parseJUnitSuites(t *testing.T, data []byte) map[string]junitSuiteCounts {
	t.Helper()
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Tests   int      `xml:"tests,attr"`
		Suites  []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("junit report is not XML: %v\n%s", err, data)
	}
	out := map[string]junitSuiteCounts{}
	total := 0
	for _, s := range doc.Suites {
		c := junitSuiteCounts{Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped}
		for _, tc := range s.Cases {
			c.Cases = append(c.Cases, tc.Name)
		}
		if len(c.Cases) != s.Tests {
			t.Errorf("suite %s says %d tests but has %d", s.Name, s.Tests, len(c.Cases))
		}
		total += s.Tests
		out[s.Name] = c
	}
	if total != doc.Tests {
		t.Errorf("testsuites tests=%d, suites add up to %d", doc.Tests, total)
	}
	return out
}

func TestJUnitReport(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	s := parseJUnitSuites(t, buf.Bytes())
	if len(s) != 7 {
		t.Fatalf("want one suite per gate, got %d", len(s))
	}
	if got := s["tests"]; got.Tests != 3 || got.Failures != 2 || strings.Join(got.Cases, ",") != "test_ok,test_bad,tests" {
		t.Errorf("tests suite = %+v", got)
	}
	if got := s["bandit"]; got.Tests != 1 || got.Failures != 0 {
		t.Errorf("a non-blocking gate must not fail CI's test report: %+v", got)
	}
	if got := s["audit"]; got.Errors != 1 {
		t.Errorf("a missing blocking tool is an error case: %+v", got)
	}
	if got := s["pylint"]; got.Skipped != 1 {
		t.Errorf("a disabled gate is a skipped case: %+v", got)
	}
	if got := s["migrations"]; got.Errors != 1 {
		t.Errorf("a timed-out blocking gate is an error case: %+v", got)
	}
	if !strings.Contains(buf.String(), "E assert 1 == 2 &lt;&amp;&gt;") {
		t.Error("failure detail not escaped into the XML")
	}
}

func TestSARIFReport(t *testing.T) {
	rep := sampleReport()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, rep, "services/web/"); err != nil {
		t.Fatal(err)
	}
	log := validateSARIF(t, buf.Bytes())
	runs := log["runs"].([]any)
	if len(runs) != 2 {
		t.Fatalf("want runs for bandit and flake8 (flake8 empty), got %d", len(runs))
	}
	bandit := runs[0].(map[string]any)
	driver := bandit["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "bandit" || len(driver["rules"].([]any)) != 2 {
		t.Errorf("bandit driver: %v", driver)
	}
	results := bandit["results"].([]any)
	first := results[0].(map[string]any)
	loc := first["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
	if first["ruleId"] != "B602" || first["level"] != "error" ||
		loc["artifactLocation"].(map[string]any)["uri"] != "services/web/app.py" ||
		loc["region"].(map[string]any)["startLine"] != float64(28) || loc["region"].(map[string]any)["startColumn"] != float64(12) {
		t.Errorf("first result: %v", first)
	}
	if third := results[2].(map[string]any); third["ruleIndex"] != float64(0) {
		t.Errorf("repeated rule must reuse its index: %v", third)
	}
	flake8 := runs[1].(map[string]any)
	if len(flake8["results"].([]any)) != 0 {
		t.Error("flake8 passed: its run must be empty, so code scanning closes old alerts")
	}
}

// checkSARIF validates the SARIF of a real run: one result per bandit and
// flake8 finding.
func checkSARIF(t *testing.T, rep *Report) {
	t.Helper()
	wantResults := 0
	for _, g := range rep.Gates {
		if g.Name == GateBandit || g.Name == GateFlake8 {
			wantResults += len(g.Findings)
		}
	}
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, rep, ""); err != nil {
		t.Fatal(err)
	}
	log := validateSARIF(t, buf.Bytes())
	n := 0
	for _, r := range log["runs"].([]any) {
		n += len(r.(map[string]any)["results"].([]any))
	}
	if n != wantResults {
		t.Errorf("SARIF has %d results, want %d", n, wantResults)
	}
}

// validateSARIF checks the properties SARIF 2.1.0 requires of what ferry
// writes (sarifLog: version, runs; run: tool.driver.name; result: message
// with text; reportingDescriptor: id; region lines and columns >= 1; level
// in its enumeration; ruleIndex pointing at the rule of ruleId) plus what
// GitHub code scanning needs (relative artifact URIs).
func validateSARIF(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var log map[string]any
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	fail := func(format string, args ...any) { t.Errorf("SARIF: "+format, args...) }
	if log["version"] != "2.1.0" {
		fail("version = %v", log["version"])
	}
	if s, _ := log["$schema"].(string); !strings.Contains(s, "sarif-2.1.0") {
		fail("$schema = %v", log["$schema"])
	}
	runs, ok := log["runs"].([]any)
	if !ok {
		t.Fatalf("SARIF: runs is not an array")
	}
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	for i, r := range runs {
		run := r.(map[string]any)
		driver, _ := run["tool"].(map[string]any)["driver"].(map[string]any)
		if name, _ := driver["name"].(string); name == "" {
			fail("runs[%d].tool.driver.name missing", i)
		}
		var ruleIDs []string
		if rules, ok := driver["rules"].([]any); ok {
			seen := map[string]bool{}
			for j, rl := range rules {
				id, _ := rl.(map[string]any)["id"].(string)
				if id == "" || seen[id] {
					fail("runs[%d].rules[%d].id %q missing or repeated", i, j, id)
				}
				seen[id] = true
				ruleIDs = append(ruleIDs, id)
			}
		}
		results, ok := run["results"].([]any)
		if !ok {
			fail("runs[%d].results is not an array", i)
		}
		for j, x := range results {
			res := x.(map[string]any)
			where := fmt.Sprintf("runs[%d].results[%d]", i, j)
			msg, _ := res["message"].(map[string]any)
			if text, _ := msg["text"].(string); text == "" {
				fail("%s.message.text missing", where)
			}
			if lv, ok := res["level"].(string); ok && !levels[lv] {
				fail("%s.level %q", where, lv)
			}
			if idx, ok := res["ruleIndex"].(float64); ok {
				if int(idx) >= len(ruleIDs) || ruleIDs[int(idx)] != res["ruleId"] {
					fail("%s.ruleIndex %v does not point at %v", where, idx, res["ruleId"])
				}
			}
			locs, _ := res["locations"].([]any)
			for _, l := range locs {
				pl := l.(map[string]any)["physicalLocation"].(map[string]any)
				uri, _ := pl["artifactLocation"].(map[string]any)["uri"].(string)
				if uri == "" || strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "./") || strings.Contains(uri, `\`) {
					fail("%s uri %q must be relative with forward slashes", where, uri)
				}
				if reg, ok := pl["region"].(map[string]any); ok {
					if n, _ := reg["startLine"].(float64); n < 1 {
						fail("%s.region.startLine %v", where, reg["startLine"])
					}
					if c, ok := reg["startColumn"].(float64); ok && c < 1 {
						fail("%s.region.startColumn %v", where, c)
					}
				}
			}
		}
	}
	return log
}
