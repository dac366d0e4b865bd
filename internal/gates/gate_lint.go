package gates

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

// flake8Format is a flake8 --format template with tab-separated fields:
// flake8 substitutes them itself, so no human wording is parsed.
const flake8Format = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"

func runFlake8Gate(ctx context.Context, e *runEnv, g Flake8Gate, r *Result) {
	findings, res, ok := runReportTool(ctx, e, r, reportTool{
		name: "flake8", module: "flake8", install: "pip install flake8 into the app's virtualenv",
		paths: g.Paths, file: "flake8.tsv",
		argv: func(tool []string, _, report string, targets []string, tree *appTree) ([]string, map[string]string, error) {
			// flake8 prunes what it excludes from its walk, and
			// --extend-exclude adds to the project's own exclude setting.
			// --jobs is the gate's share of the cores: flake8 would start a
			// worker per core, taking the cores the other gates run on.
			argv := append(append([]string{}, tool...), "--format="+flake8Format, "--output-file="+report,
				fmt.Sprintf("--jobs=%d", e.cores), "--extend-exclude="+strings.Join(flake8Excludes(tree), ","))
			argv = append(argv, g.Args...)
			if len(targets) == 0 {
				targets = []string{"."}
			}
			return append(argv, targets...), nil, nil
		},
		// 1 is findings; with 0 flake8 may not write the file at all.
		exitOK: func(code int) bool { return code == 0 || code == 1 },
		clean:  func(code int) bool { return code == 0 },
		hint:   "check gates.flake8.args and the flake8 configuration (setup.cfg, tox.ini, .flake8)",
	}, parseFlake8)
	if !ok {
		return
	}
	r.Findings = findings
	applyFlake8(r, findings, res.ExitCode)
}

// flake8Excludes are the ignored directory names, which flake8 matches at
// any depth, and the directories ignored for their markers as absolute
// paths, which is how flake8 matches a pattern holding a separator.
func flake8Excludes(tree *appTree) []string {
	out := ignoredNames()
	for _, rel := range tree.markedSkips() {
		if p := filepath.Join(tree.root, filepath.FromSlash(rel)); !strings.Contains(p, ",") {
			out = append(out, globEscape(p))
		}
	}
	return out
}

// ignoredNames lists ignoredDirNames as glob patterns, sorted.
func ignoredNames() []string {
	out := make([]string, 0, len(ignoredDirNames)+1)
	for n := range ignoredDirNames {
		out = append(out, n)
	}
	sort.Strings(out)
	return append(out, "*.egg-info")
}

// globEscape quotes fnmatch's special characters in a path.
func globEscape(p string) string {
	return strings.NewReplacer("[", "[[]", "*", "[*]", "?", "[?]").Replace(p)
}

func applyFlake8(r *Result, findings []Finding, exit int) {
	byClass := map[string]int{}
	fatal := 0
	for _, f := range findings {
		byClass[f.Severity]++
		if f.Level == "error" {
			fatal++
		}
	}
	r.Figures = map[string]float64{"findings": float64(len(findings)), "syntax_errors": float64(fatal)}
	for k, n := range byClass {
		r.Figures[strings.ToLower(k)] = float64(n)
	}
	if len(findings) == 0 && exit == 0 {
		r.Status = StatusPassed
		r.Summary = "no findings"
		return
	}
	classes := make([]string, 0, len(byClass))
	for k := range byClass {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	parts := make([]string, len(classes))
	for i, k := range classes {
		parts[i] = fmt.Sprintf("%d %s", byClass[k], k)
	}
	r.Status = StatusFailed
	r.Summary = fmt.Sprintf("%s: %s", plural(len(findings), "finding"), strings.Join(parts, ", "))
	if fatal > 0 {
		r.Summary += fmt.Sprintf(" (%s or undefined names)", plural(fatal, "syntax error"))
	}
	r.Hint = "fix the findings, or tune flake8 in setup.cfg / .flake8 (e.g. max-line-length)"
}

// isFlake8Fatal marks the codes that mean the code cannot run as written:
// syntax errors, invalid comparisons, misplaced statements, undefined names.
func isFlake8Fatal(code string) bool {
	for _, p := range []string{"E9", "F63", "F7", "F82"} {
		if strings.HasPrefix(code, p) {
			return true
		}
	}
	return false
}

// flake8LogRe matches the lines of flake8's own log, which -v sends to the
// --output-file too: "flake8.checker  MainProcess  76 INFO  Checking 2 files".
var flake8LogRe = text.Pattern(`^flake8(\.[\w.]+)?\s+\S+\s+\d+\s+(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s`)

// parseFlake8 reads lines written with flake8Format.
func parseFlake8(data []byte, appDir string) ([]Finding, error) {
	var out []Finding
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 5)
		if len(f) != 5 && flake8LogRe().MatchString(line) {
			// With -v (gates.flake8.args) flake8 logs into its output file.
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("parse flake8 report line %d: want 5 tab-separated fields, got %d", n, len(f))
		}
		row, err1 := strconv.Atoi(f[1])
		col, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("parse flake8 report line %d: bad position %q:%q", n, f[1], f[2])
		}
		code := f[3]
		level := "warning"
		if isFlake8Fatal(code) {
			level = "error"
		}
		sev := ""
		if code != "" {
			sev = code[:1]
		}
		out = append(out, Finding{
			File: relPath(appDir, f[0]), Line: row, Column: col, Rule: code, Severity: sev,
			Level: level, Message: f[4],
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read flake8 report: %w", err)
	}
	return out, nil
}

//go:embed ferry_pylint_reporter.py
var pylintReporter []byte

func runPylintGate(ctx context.Context, e *runEnv, g PylintGate, r *Result) {
	rep, _, ok := runReportTool(ctx, e, r, reportTool{
		name: "pylint", module: "pylint", install: "pip install pylint into the app's virtualenv",
		paths: g.Paths, nothing: "no Python modules to lint",
		pick: sourceLayout.modules,
		// pylint walks a package it is given into every subpackage; its own
		// --ignore would replace the project's ignore setting rather than
		// add to it, so the targets stop short of the ignored directories
		// instead, expanded into packages and modules as pylint takes them.
		avoid: true, keepDir: func(rel string) bool { return isPackage(filepath.Join(e.appDir, filepath.FromSlash(rel))) },
		file: "pylint.json",
		argv: func(tool []string, dir, report string, targets []string, _ *appTree) ([]string, map[string]string, error) {
			if err := os.WriteFile(filepath.Join(dir, "ferry_pylint_reporter.py"), pylintReporter, 0o644); err != nil {
				return nil, nil, fmt.Errorf("write reporter: %w", err)
			}
			// The reporter writes pylint 3's json2 shape (messages plus
			// statistics with the score) on pylint 2 and 3 alike; json2
			// itself is 3.x only.
			argv := append(append([]string{}, tool...), "--persistent=n", "--output-format=ferry_pylint_reporter.FerryReporter:"+report)
			argv = append(argv, g.Args...)
			pyPath := dir
			if old, ok := e.toolEnv.get("PYTHONPATH"); ok && old != "" {
				pyPath += string(os.PathListSeparator) + old
			}
			return append(argv, targets...), map[string]string{"PYTHONPATH": pyPath}, nil
		},
		// pylint's exit status is a bit mask of message categories; 32 is a
		// usage error, the only case with no report.
		hint: "check gates.pylint.args and the pylint configuration (pylintrc, pyproject.toml)",
	}, parsePylintJSON2)
	if ok {
		applyPylint(r, rep, g.MinScore)
	}
}

// pylintReport is pylint 3's json2 output, which ferry's reporter also writes.
type pylintReport struct {
	Findings []Finding
	Counts   map[string]int
	Score    *float64
	// Modules is how many modules pylint linted.
	Modules int
}

type pylintJSON2 struct {
	Messages []struct {
		Type      string `json:"type"`
		Symbol    string `json:"symbol"`
		Message   string `json:"message"`
		MessageID string `json:"messageId"`
		Line      int    `json:"line"`
		Column    int    `json:"column"`
		Path      string `json:"path"`
	} `json:"messages"`
	Statistics struct {
		MessageTypeCount map[string]int `json:"messageTypeCount"`
		ModulesLinted    int            `json:"modulesLinted"`
		Score            *float64       `json:"score"`
	} `json:"statistics"`
}

func parsePylintJSON2(data []byte, appDir string) (pylintReport, error) {
	var doc pylintJSON2
	if err := json.Unmarshal(data, &doc); err != nil {
		return pylintReport{}, fmt.Errorf("parse pylint report: %w", err)
	}
	rep := pylintReport{Counts: doc.Statistics.MessageTypeCount, Score: doc.Statistics.Score, Modules: doc.Statistics.ModulesLinted}
	if rep.Counts == nil {
		rep.Counts = map[string]int{}
		for _, m := range doc.Messages {
			rep.Counts[m.Type]++
		}
	}
	for _, m := range doc.Messages {
		level := "note"
		switch m.Type {
		case "fatal", "error":
			level = "error"
		case "warning":
			level = "warning"
		}
		rep.Findings = append(rep.Findings, Finding{
			File: relPath(appDir, m.Path), Line: m.Line, Column: m.Column + 1, Rule: m.MessageID,
			RuleName: m.Symbol, Severity: m.Type, Level: level, Message: m.Message,
		})
	}
	return rep, nil
}

func applyPylint(r *Result, rep pylintReport, min float64) {
	r.Findings = rep.Findings
	r.Figures = map[string]float64{"messages": float64(len(rep.Findings)), "min_score": min, "modules": float64(rep.Modules)}
	for k, n := range rep.Counts {
		r.Figures[k] = float64(n)
	}
	if rep.Score == nil {
		// No statements were analysed, usually a syntax error pylint could
		// not get past.
		r.Status = StatusFailed
		r.Summary = fmt.Sprintf("no score (%s)", plural(len(rep.Findings), "message"))
		r.Hint = "pylint analysed no statements; look at its fatal messages"
		return
	}
	score := *rep.Score
	r.Figures["score"] = score
	r.Summary = fmt.Sprintf("score %.2f/10 · %s", score, plural(len(rep.Findings), "message"))
	if score+1e-9 < min {
		r.Status = StatusFailed
		r.Summary = fmt.Sprintf("score %.2f/10 (min %.2f) · %s", score, min, plural(len(rep.Findings), "message"))
		r.Hint = "fix the messages, or tune pylint in pylintrc / pyproject.toml, or lower gates.pylint.min_score"
		return
	}
	r.Status = StatusPassed
}

// banditExcludes are the skipped directories as bandit's -x takes them:
// relative paths, which it matches against the paths it walks from the
// relative targets ferry gives it.
func banditExcludes(tree *appTree) []string {
	var out []string
	for _, rel := range tree.sourceSkips() {
		if !strings.Contains(rel, ",") {
			out = append(out, globEscape(filepath.FromSlash(rel)))
		}
	}
	return out
}

// levels orders bandit's severity and confidence words.
var levels = map[string]int{"low": 1, "medium": 2, "high": 3}

func runBanditGate(ctx context.Context, e *runEnv, g BanditGate, r *Result) {
	rep, _, ok := runReportTool(ctx, e, r, reportTool{
		name: "bandit", module: "bandit", install: "pip install bandit into the app's virtualenv",
		paths: g.Paths, pick: sourceLayout.all, nothing: "no Python files to scan",
		// bandit lists every file under a directory before it excludes any,
		// so the targets stop short of the ignored directories; -x (added
		// to the project's exclude_dirs) covers a target given by path.
		avoid: true,
		file:  "bandit.json",
		argv: func(tool []string, _, report string, targets []string, tree *appTree) ([]string, map[string]string, error) {
			argv := append(append([]string{}, tool...), "-f", "json", "-o", report, "-q")
			if x := banditExcludes(tree); len(x) > 0 {
				argv = append(argv, "-x", strings.Join(x, ","))
			}
			argv = append(argv, g.Args...)
			argv = append(argv, "-r")
			return append(argv, targets...), nil, nil
		},
		hint: "check gates.bandit.args and the bandit configuration",
	}, parseBandit)
	if ok {
		applyBandit(r, rep, g.Severity, g.Confidence)
	}
}

type banditReport struct {
	Findings []Finding
	// confidence per finding, parallel to Findings.
	Confidence []string
	Errors     []string
	// Files is how many files bandit scanned.
	Files int
}

type banditJSON struct {
	// Metrics has an entry per file scanned, and _totals.
	Metrics map[string]json.RawMessage `json:"metrics"`
	Errors  []struct {
		Filename string `json:"filename"`
		Reason   string `json:"reason"`
	} `json:"errors"`
	Results []struct {
		Filename   string `json:"filename"`
		LineNumber int    `json:"line_number"`
		ColOffset  *int   `json:"col_offset"`
		Severity   string `json:"issue_severity"`
		Confidence string `json:"issue_confidence"`
		Text       string `json:"issue_text"`
		TestID     string `json:"test_id"`
		TestName   string `json:"test_name"`
		MoreInfo   string `json:"more_info"`
	} `json:"results"`
}

func parseBandit(data []byte, appDir string) (banditReport, error) {
	var doc banditJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return banditReport{}, fmt.Errorf("parse bandit report: %w", err)
	}
	var rep banditReport
	for name := range doc.Metrics {
		if name != "_totals" {
			rep.Files++
		}
	}
	for _, e := range doc.Errors {
		rep.Errors = append(rep.Errors, relPath(appDir, e.Filename)+": "+e.Reason)
	}
	for _, x := range doc.Results {
		col := 0
		if x.ColOffset != nil {
			col = *x.ColOffset + 1 // bandit's offset is 0-based
		}
		level := "note"
		switch strings.ToUpper(x.Severity) {
		case "HIGH":
			level = "error"
		case "MEDIUM":
			level = "warning"
		}
		rep.Findings = append(rep.Findings, Finding{
			File: relPath(appDir, x.Filename), Line: x.LineNumber, Column: col, Rule: x.TestID,
			RuleName: x.TestName, Severity: strings.ToUpper(x.Severity), Level: level,
			Message: x.Text, HelpURI: x.MoreInfo,
		})
		rep.Confidence = append(rep.Confidence, strings.ToUpper(x.Confidence))
	}
	return rep, nil
}

func applyBandit(r *Result, rep banditReport, severity, confidence string) {
	minSev, minConf := levels[strings.ToLower(severity)], levels[strings.ToLower(confidence)]
	count := map[string]int{}
	failing := 0
	for i, f := range rep.Findings {
		count[f.Severity]++
		if levels[strings.ToLower(f.Severity)] >= minSev && levels[strings.ToLower(rep.Confidence[i])] >= minConf {
			failing++
		}
	}
	r.Findings = rep.Findings
	r.Figures = map[string]float64{
		"high": float64(count["HIGH"]), "medium": float64(count["MEDIUM"]), "low": float64(count["LOW"]),
		"findings": float64(len(rep.Findings)), "failing": float64(failing), "errors": float64(len(rep.Errors)),
		"files": float64(rep.Files),
	}
	r.Summary = fmt.Sprintf("findings: %d high, %d medium, %d low", count["HIGH"], count["MEDIUM"], count["LOW"])
	if len(rep.Errors) > 0 {
		r.Summary += fmt.Sprintf(" · %s not scanned", plural(len(rep.Errors), "file"))
	}
	if failing > 0 {
		r.Status = StatusFailed
		r.Hint = fmt.Sprintf("fix the %s at or above %s severity, or mark reviewed lines with # nosec", plural(failing, "finding"), strings.ToLower(severity))
		return
	}
	r.Status = StatusPassed
}
