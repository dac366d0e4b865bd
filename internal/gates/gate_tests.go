package gates

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pytest's documented exit codes.
const (
	pytestOK          = 0
	pytestTestsFailed = 1
	pytestNoTests     = 5
)

func runTestsGate(ctx context.Context, e *runEnv, g TestsGate, r *Result) {
	if !needPython(e, r) {
		return
	}
	const hint = "pip install pytest pytest-cov into the app's virtualenv"
	probe, err := e.probe(ctx, e.python)
	if err != nil {
		execFailed(r, "python", err)
		return
	}
	// The app's interpreter is the one that can import the app's
	// dependencies; a pytest on PATH is the fallback for a system install.
	var argv []string
	hasCov := false
	if probe.Modules["pytest"] {
		argv = []string{e.python, "-m", "pytest"}
		r.Tool = e.python + " -m pytest"
		hasCov = probe.Modules["pytest_cov"]
	} else {
		path, ok := e.needTool(r, "pytest", hint)
		if !ok {
			return
		}
		argv = []string{path}
		if interp := e.scriptInterpreter(path); interp != "" {
			if p, err := e.probe(ctx, interp); err == nil {
				hasCov = p.Modules["pytest_cov"]
			}
		}
	}

	tmp, err := e.gateTmp("tests")
	if err != nil {
		execFailed(r, "pytest", err)
		return
	}
	junitPath := filepath.Join(tmp, "junit.xml")
	covPath := filepath.Join(tmp, "coverage.xml")
	argv = append(argv, "-p", "no:cacheprovider", "--tb=short", "-q", "--junitxml="+junitPath)
	if hasCov {
		for _, src := range g.Cov {
			argv = append(argv, "--cov="+src)
		}
		argv = append(argv, "--cov-report=xml:"+covPath)
	}
	tree, err := e.appTree()
	if err != nil {
		execFailed(r, "pytest", err)
		return
	}
	// --ignore adds to the project's own norecursedirs, which pytest's
	// defaults would leave out only while the project sets none.
	for _, rel := range tree.sourceSkips() {
		argv = append(argv, "--ignore="+filepath.FromSlash(rel))
	}
	argv = append(argv, g.Args...)
	argv = append(argv, g.Paths...)

	extra := map[string]string{"COVERAGE_FILE": filepath.Join(tmp, ".coverage")}
	if p := e.importPath(nil); p != "" {
		extra["PYTHONPATH"] = p
	}
	res, ok := e.runTool(ctx, r, "pytest", argv, extra)
	if !ok {
		return
	}

	if res.ExitCode == pytestNoTests {
		r.Status = StatusFailed
		r.Summary = "no tests collected"
		r.Hint = "add tests, point gates.tests.paths at them, or set gates.tests.enabled: false"
		r.Figures = map[string]float64{"tests": 0}
		return
	}
	suite, err := readJUnitFile(junitPath)
	if err != nil {
		toolError(r, fmt.Sprintf("pytest exited %d without a readable JUnit report", res.ExitCode),
			"check gates.tests.args and the output above; pytest could not run the tests", res)
		return
	}
	r.Tests = suite.Cases
	c := suite.counts()
	r.Figures = map[string]float64{
		"tests": float64(len(suite.Cases)), "passed": float64(c[CasePassed]), "failed": float64(c[CaseFailed]),
		"errors": float64(c[CaseError]), "skipped": float64(c[CaseSkipped]),
	}
	summary := fmt.Sprintf("%d passed, %d failed, %d skipped", c[CasePassed], c[CaseFailed], c[CaseSkipped])
	if c[CaseError] > 0 {
		summary += fmt.Sprintf(", %s", plural(c[CaseError], "error"))
	}

	coverageOK := true
	switch {
	case hasCov:
		pct, err := readCoberturaFile(covPath, tree)
		if err != nil {
			toolError(r, "pytest-cov wrote no readable coverage report", "", res)
			return
		}
		r.Figures["coverage"] = pct
		summary += fmt.Sprintf(" · coverage %.1f%%", pct)
		if g.CoverageMin > 0 {
			r.Figures["coverage_min"] = g.CoverageMin
			if pct < g.CoverageMin {
				coverageOK = false
				summary += fmt.Sprintf(" (below %.4g%%)", g.CoverageMin)
			}
		}
	case g.CoverageMin > 0:
		coverageOK = false
		summary += " · coverage unknown"
		r.Hint = "pytest-cov is not installed; pip install pytest-cov into the app's virtualenv"
	default:
		summary += " · coverage n/a (pytest-cov not installed)"
	}
	r.Summary = summary

	switch {
	case c[CaseFailed]+c[CaseError] > 0 || res.ExitCode == pytestTestsFailed:
		// Exit 2 with error cases is a collection error: the tests' fault,
		// not pytest's.
		r.Status = StatusFailed
		r.Hint = "fix the failing tests listed above"
	case res.ExitCode != pytestOK:
		toolError(r, fmt.Sprintf("pytest exited %d: %s", res.ExitCode, summary), "", res)
	case !coverageOK:
		r.Status = StatusFailed
		if r.Hint == "" {
			r.Hint = fmt.Sprintf("add tests, or lower gates.tests.coverage_min (now %.4g)", g.CoverageMin)
		}
	default:
		r.Status = StatusPassed
	}
}

// junitSuite is a JUnit XML report flattened to its test cases.
type junitSuite struct {
	Cases []TestCase
}

func (s junitSuite) counts() map[string]int {
	m := map[string]int{}
	for _, c := range s.Cases {
		m[c.Status]++
	}
	return m
}

type xmlJUnitCase struct {
	Name      string       `xml:"name,attr"`
	Classname string       `xml:"classname,attr"`
	File      string       `xml:"file,attr"`
	Line      string       `xml:"line,attr"`
	Time      string       `xml:"time,attr"`
	Failure   *xmlJUnitMsg `xml:"failure"`
	Error     *xmlJUnitMsg `xml:"error"`
	Skipped   *xmlJUnitMsg `xml:"skipped"`
}

type xmlJUnitMsg struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type xmlJUnitSuite struct {
	Cases  []xmlJUnitCase  `xml:"testcase"`
	Suites []xmlJUnitSuite `xml:"testsuite"`
}

func readJUnitFile(path string) (junitSuite, error) {
	f, err := os.Open(path)
	if err != nil {
		return junitSuite{}, fmt.Errorf("read junit report: %w", err)
	}
	defer f.Close()
	return parseJUnit(f)
}

// parseJUnit reads pytest's --junitxml output; the root is <testsuites>
// (pytest 5.1 and later) or a lone <testsuite>, and both nest the same way.
func parseJUnit(r io.Reader) (junitSuite, error) {
	var root xmlJUnitSuite
	if err := xml.NewDecoder(r).Decode(&root); err != nil {
		return junitSuite{}, fmt.Errorf("parse junit report: %w", err)
	}
	var out junitSuite
	var walk func(s xmlJUnitSuite)
	walk = func(s xmlJUnitSuite) {
		for _, c := range s.Cases {
			out.Cases = append(out.Cases, junitCase(c))
		}
		for _, sub := range s.Suites {
			walk(sub)
		}
	}
	walk(root)
	return out, nil
}

func junitCase(c xmlJUnitCase) TestCase {
	tc := TestCase{Name: c.Name, Classname: c.Classname, File: filepath.ToSlash(c.File), Status: CasePassed}
	if secs, err := strconv.ParseFloat(c.Time, 64); err == nil && secs >= 0 && !math.IsInf(secs, 0) {
		tc.Duration = time.Duration(secs * float64(time.Second))
	}
	if n, err := strconv.Atoi(c.Line); err == nil {
		tc.Line = n + 1 // pytest writes 0-based lines
	}
	var msg *xmlJUnitMsg
	switch {
	case c.Failure != nil:
		tc.Status, msg = CaseFailed, c.Failure
	case c.Error != nil:
		tc.Status, msg = CaseError, c.Error
	case c.Skipped != nil:
		tc.Status, msg = CaseSkipped, c.Skipped
	}
	if msg != nil {
		tc.Message = msg.Message
		tc.Detail = tail(strings.TrimSpace(msg.Body), 60)
	}
	return tc
}

type xmlCobertura struct {
	LineRate     string   `xml:"line-rate,attr"`
	LinesValid   string   `xml:"lines-valid,attr"`
	LinesCovered string   `xml:"lines-covered,attr"`
	Sources      []string `xml:"sources>source"`
	Classes      []struct {
		Filename string `xml:"filename,attr"`
		Lines    []struct {
			Hits string `xml:"hits,attr"`
		} `xml:"lines>line"`
	} `xml:"packages>package>classes>class"`
}

func readCoberturaFile(path string, tree *appTree) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read coverage report: %w", err)
	}
	defer f.Close()
	return parseCobertura(f, tree)
}

// parseCobertura returns line coverage in percent. Counts are preferred to
// the rounded line-rate, so the figure matches coverage.py's own report.
// Files inside the app's ignored directories (tree, when given) do not
// count: pytest-cov has no option to omit them that would not replace the
// project's own coverage configuration, so they are left out here.
func parseCobertura(r io.Reader, tree *appTree) (float64, error) {
	var c xmlCobertura
	if err := xml.NewDecoder(r).Decode(&c); err != nil {
		return 0, fmt.Errorf("parse coverage report: %w", err)
	}
	if tree != nil {
		if pct, ok := coverageOutside(c, tree); ok {
			return pct, nil
		}
	}
	valid, err1 := strconv.Atoi(c.LinesValid)
	covered, err2 := strconv.Atoi(c.LinesCovered)
	if err1 == nil && err2 == nil {
		if valid == 0 {
			return 100, nil
		}
		return 100 * float64(covered) / float64(valid), nil
	}
	rate, err := strconv.ParseFloat(c.LineRate, 64)
	if err != nil {
		return 0, fmt.Errorf("parse coverage report: no line-rate: %w", err)
	}
	return 100 * rate, nil
}

// coverageOutside recounts the report's lines without the files inside
// the tree's skipped directories; ok is false when there were none, and
// the report's own totals stand.
func coverageOutside(c xmlCobertura, tree *appTree) (pct float64, ok bool) {
	valid, covered := 0, 0
	for _, cl := range c.Classes {
		if coberturaSkipped(cl.Filename, c.Sources, tree) {
			ok = true
			continue
		}
		for _, l := range cl.Lines {
			valid++
			if n, err := strconv.Atoi(l.Hits); err == nil && n > 0 {
				covered++
			}
		}
	}
	if !ok {
		return 0, false
	}
	if valid == 0 {
		return 100, true
	}
	return 100 * float64(covered) / float64(valid), true
}

// coberturaSkipped reports whether a class's file, relative to one of the
// report's sources, lies in a skipped directory of the tree.
func coberturaSkipped(file string, sources []string, tree *appTree) bool {
	for _, src := range append(sources, tree.root) {
		p := filepath.FromSlash(file)
		if !filepath.IsAbs(p) {
			p = filepath.Join(strings.TrimSpace(src), p)
		}
		if rel, ok := tree.rel(p); ok && rel != "" && tree.isSkipped(path.Dir(rel)) {
			return true
		}
	}
	return false
}
