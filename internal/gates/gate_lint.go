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
)

// flake8Format is a flake8 --format template with tab-separated fields:
// flake8 substitutes them itself, so no human wording is parsed.
const flake8Format = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"

// flake8Excludes keeps virtualenvs and build output out of flake8's walk, in
// addition to flake8's own default excludes.
var flake8Excludes = []string{".venv", "venv", "env", ".tox", ".nox", "node_modules", "build", "dist"}

func runFlake8Gate(ctx context.Context, e *runEnv, g Flake8Gate, r *Result) {
	findings, res, ok := runReportTool(ctx, e, r, reportTool{
		name: "flake8", install: "pip install flake8 into the app's virtualenv",
		paths: g.Paths, file: "flake8.tsv",
		argv: func(tool, _, report string, targets []string) ([]string, map[string]string, error) {
			excludes := append([]string{}, flake8Excludes...)
			if ents, err := os.ReadDir(e.appDir); err == nil {
				for _, ent := range ents {
					if ent.IsDir() && isVenvDir(filepath.Join(e.appDir, ent.Name())) {
						excludes = append(excludes, ent.Name())
					}
				}
			}
			argv := []string{tool, "--format=" + flake8Format, "--output-file=" + report, "--extend-exclude=" + strings.Join(excludes, ",")}
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
		name: "pylint", install: "pip install pylint into the app's virtualenv",
		paths: g.Paths, nothing: "no Python modules to lint",
		pick: func(l sourceLayout) []string { return append(append([]string{}, l.Files...), l.Packages...) },
		file: "pylint.json",
		argv: func(tool, dir, report string, targets []string) ([]string, map[string]string, error) {
			if err := os.WriteFile(filepath.Join(dir, "ferry_pylint_reporter.py"), pylintReporter, 0o644); err != nil {
				return nil, nil, fmt.Errorf("write reporter: %w", err)
			}
			// The reporter writes pylint 3's json2 shape (messages plus
			// statistics with the score) on pylint 2 and 3 alike; json2
			// itself is 3.x only.
			argv := []string{tool, "--persistent=n", "--output-format=ferry_pylint_reporter.FerryReporter:" + report}
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
	rep := pylintReport{Counts: doc.Statistics.MessageTypeCount, Score: doc.Statistics.Score}
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
	r.Figures = map[string]float64{"messages": float64(len(rep.Findings)), "min_score": min}
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

// levels orders bandit's severity and confidence words.
var levels = map[string]int{"low": 1, "medium": 2, "high": 3}

func runBanditGate(ctx context.Context, e *runEnv, g BanditGate, r *Result) {
	rep, _, ok := runReportTool(ctx, e, r, reportTool{
		name: "bandit", install: "pip install bandit into the app's virtualenv",
		paths: g.Paths, pick: sourceLayout.all, nothing: "no Python files to scan",
		file: "bandit.json",
		argv: func(tool, _, report string, targets []string) ([]string, map[string]string, error) {
			argv := []string{tool, "-f", "json", "-o", report, "-q"}
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
}

type banditJSON struct {
	Errors []struct {
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
