package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pipAuditMissingHint is the whole advice for a build server without
// pip-audit: install it, or go offline.
const pipAuditMissingHint = "pip install pip-audit into the app's virtualenv, or set gates.audit.osv_db for the offline audit"

func (e *runEnv) requirementsFor(gate string) string {
	if gate != "" {
		return gate
	}
	return e.requirements
}

func runAuditGate(ctx context.Context, e *runEnv, g AuditGate, r *Result) {
	reqRel := e.requirementsFor(g.Requirements)
	reqPath := filepath.Join(e.appDir, reqRel)
	if g.OSVDB != "" {
		runOfflineAudit(e, g, reqRel, reqPath, r)
		return
	}
	tool, ok := e.pythonTool(ctx, r, "pip-audit", "pip_audit", pipAuditMissingHint)
	if !ok {
		return
	}
	// Run by the app's interpreter, pip-audit resolves -r in a virtualenv
	// of the app's Python version and audits the app's own environment.
	argv := append(append([]string{}, tool...), "-f", "json", "--progress-spinner", "off")
	extra := map[string]string{}
	if _, err := os.Stat(reqPath); err == nil {
		argv = append(argv, "-r", reqRel)
	} else if e.python != "" {
		// No requirements file: audit the app's environment, which
		// pip-audit reaches through pip-api's interpreter override.
		extra["PIPAPI_PYTHON_LOCATION"] = e.python
	}
	for _, id := range g.Ignore {
		argv = append(argv, "--ignore-vuln", id)
	}
	argv = append(argv, g.Args...)
	res, ok := e.runTool(ctx, r, "pip-audit", argv, extra)
	if !ok {
		return
	}
	deps, err := parsePipAudit(res.Stdout)
	if err != nil || (res.ExitCode != 0 && res.ExitCode != 1) {
		toolError(r, fmt.Sprintf("pip-audit exited %d without a readable report", res.ExitCode),
			"pip-audit needs PyPI; on a server without it, set gates.audit.osv_db for the offline audit", res)
		return
	}
	applyAudit(r, filterIgnored(deps, g.Ignore), nil, reqRel, false)
}

// pipAuditJSON is pip-audit's `-f json` document. Releases before the
// "fixes" key wrote the dependency list alone; both are accepted.
type pipAuditJSON struct {
	Dependencies []AuditDependency `json:"dependencies"`
}

func parsePipAudit(data []byte) ([]AuditDependency, error) {
	data = jsonStart(data)
	if len(data) > 0 && data[0] == '[' {
		var deps []AuditDependency
		if err := json.Unmarshal(data, &deps); err != nil {
			return nil, fmt.Errorf("parse pip-audit report: %w", err)
		}
		return normalizeDeps(deps), nil
	}
	var doc pipAuditJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse pip-audit report: %w", err)
	}
	if doc.Dependencies == nil {
		return nil, errors.New("parse pip-audit report: no dependencies key")
	}
	return normalizeDeps(doc.Dependencies), nil
}

func normalizeDeps(deps []AuditDependency) []AuditDependency {
	for i := range deps {
		if deps[i].Vulns == nil {
			deps[i].Vulns = []AuditVuln{}
		}
		for j := range deps[i].Vulns {
			v := &deps[i].Vulns[j]
			v.FixVersions = nonNil(v.FixVersions)
			v.Aliases = nonNil(v.Aliases)
		}
	}
	return deps
}

// jsonStart skips anything a tool printed before its JSON document (safety
// prints deprecation banners on some versions).
func jsonStart(data []byte) []byte {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] == '{' || data[0] == '[' {
		return data
	}
	for _, marker := range [][]byte{[]byte("\n{"), []byte("\n[")} {
		if i := bytes.Index(data, marker); i >= 0 {
			return data[i+1:]
		}
	}
	return data
}

func filterIgnored(deps []AuditDependency, ignore []string) []AuditDependency {
	if len(ignore) == 0 {
		return deps
	}
	skip := map[string]bool{}
	for _, id := range ignore {
		skip[strings.ToUpper(id)] = true
	}
	for i := range deps {
		kept := []AuditVuln{}
		for _, v := range deps[i].Vulns {
			ignored := skip[strings.ToUpper(v.ID)]
			for _, a := range v.Aliases {
				ignored = ignored || skip[strings.ToUpper(a)]
			}
			if !ignored {
				kept = append(kept, v)
			}
		}
		deps[i].Vulns = kept
	}
	return deps
}

func runOfflineAudit(e *runEnv, g AuditGate, reqRel, reqPath string, r *Result) {
	r.Tool = "ferry offline audit (OSV)"
	if _, err := os.Stat(reqPath); err != nil {
		r.Status = StatusSkipped
		r.Summary = fmt.Sprintf("no %s to audit", reqRel)
		r.Hint = "pin the app's dependencies in a requirements file, or set gates.audit.requirements"
		return
	}
	reqs, err := parseRequirementsFile(e.appDir, reqPath)
	if err != nil {
		r.Status = StatusError
		r.Summary = err.Error()
		r.Hint = "fix the requirements file; ferry reads pip's format (name==version, -r includes)"
		return
	}
	want := map[string]bool{}
	for _, q := range reqs {
		if q.Pinned {
			want[q.Key] = true
		}
	}
	dbPath := g.OSVDB
	if !filepath.IsAbs(dbPath) {
		dbPath = filepath.Join(e.appDir, dbPath)
	}
	db, err := loadOSV(dbPath, want)
	if err != nil {
		r.Status = StatusError
		r.Summary = err.Error()
		r.Hint = "point gates.audit.osv_db at a directory of OSV JSON files or a zip such as osv.dev's PyPI all.zip"
		return
	}
	deps, lines := auditRequirements(db, reqs)
	applyAudit(r, filterIgnored(deps, g.Ignore), lines, reqRel, g.RequirePins)
	r.Figures["advisories_read"] = float64(db.files)
}

// auditRequirements checks each requirement against db. The same package
// pinned twice (two included files) is audited once.
func auditRequirements(db *osvDB, reqs []requirement) ([]AuditDependency, []requirement) {
	var deps []AuditDependency
	var where []requirement
	seen := map[string]bool{}
	for _, q := range reqs {
		id := q.Key + "==" + q.Version
		if seen[id] {
			continue
		}
		seen[id] = true
		d := AuditDependency{Name: q.Key, Version: q.Version, Vulns: []AuditVuln{}}
		switch {
		case !q.Pinned:
			d.Version = ""
			d.SkipReason = q.Why
		default:
			vulns, ok := db.vulns(q.Name, q.Version)
			if !ok {
				d.SkipReason = fmt.Sprintf("version %q is not PEP 440, cannot audit", q.Version)
			} else if vulns != nil {
				d.Vulns = vulns
			}
		}
		deps = append(deps, d)
		where = append(where, q)
	}
	return deps, where
}

// applyAudit settles an audit result from pip-audit-shaped dependencies.
// where, when known, locates each dependency in the requirements files.
func applyAudit(r *Result, deps []AuditDependency, where []requirement, reqRel string, requirePins bool) {
	r.Audit = deps
	vulnerable, vulns, skipped := 0, 0, 0
	for i, d := range deps {
		file, line := reqRel, 0
		if i < len(where) {
			file, line = where[i].File, where[i].Line
		}
		if d.SkipReason != "" {
			skipped++
			level := "note"
			if requirePins {
				level = "error"
			}
			r.Findings = append(r.Findings, Finding{File: file, Line: line, Rule: "not-audited", Severity: "skipped", Level: level,
				Message: fmt.Sprintf("%s: %s", d.Name, d.SkipReason)})
			continue
		}
		if len(d.Vulns) > 0 {
			vulnerable++
		}
		for _, v := range d.Vulns {
			vulns++
			msg := fmt.Sprintf("%s %s is affected by %s", d.Name, d.Version, v.ID)
			if len(v.Aliases) > 0 {
				msg += " (" + strings.Join(v.Aliases, ", ") + ")"
			}
			if len(v.FixVersions) > 0 {
				msg += "; fixed in " + strings.Join(v.FixVersions, ", ")
			} else {
				msg += "; no fixed version yet"
			}
			if v.Description != "" {
				msg += ": " + v.Description
			}
			r.Findings = append(r.Findings, Finding{File: file, Line: line, Rule: v.ID, Severity: "vulnerability", Level: "error", Message: msg})
		}
	}
	audited := len(deps) - skipped
	r.Figures = map[string]float64{
		"dependencies": float64(len(deps)), "audited": float64(audited), "vulnerable": float64(vulnerable),
		"vulnerabilities": float64(vulns), "not_audited": float64(skipped),
	}
	if vulns > 0 {
		r.Summary = fmt.Sprintf("%s in %d of %s", plural(vulns, "vulnerability"), vulnerable, plural(audited, "dependency"))
	} else {
		r.Summary = fmt.Sprintf("no known vulnerabilities in %s", plural(audited, "dependency"))
	}
	if skipped > 0 {
		r.Summary += fmt.Sprintf(" · %d not audited", skipped)
	}
	switch {
	case vulns > 0:
		r.Status = StatusFailed
		r.Hint = "upgrade to a fixed version, or accept a known risk in gates.audit.ignore"
	case requirePins && skipped > 0:
		r.Status = StatusFailed
		r.Hint = "pin every requirement with == (pip freeze), or unset gates.audit.require_pins"
	default:
		r.Status = StatusPassed
	}
}

func runSafetyGate(ctx context.Context, e *runEnv, g SafetyGate, r *Result) {
	tool, ok := e.pythonTool(ctx, r, "safety", "safety", "pip install safety into the app's virtualenv (it needs network access to its database)")
	if !ok {
		return
	}
	reqRel := e.requirements
	argv := append(append([]string{}, tool...), "check", "--output", "json")
	if _, err := os.Stat(filepath.Join(e.appDir, reqRel)); err == nil {
		argv = append(argv, "-r", reqRel)
	}
	for _, id := range g.Ignore {
		argv = append(argv, "--ignore", id)
	}
	argv = append(argv, g.Args...)
	res, ok := e.runTool(ctx, r, "safety", argv, nil)
	if !ok {
		return
	}
	deps, total, err := parseSafety(res.Stdout)
	if err != nil {
		toolError(r, fmt.Sprintf("safety exited %d without a readable report", res.ExitCode),
			"safety needs network access to its database (and an API key for `safety scan`)", res)
		return
	}
	applyAudit(r, filterIgnored(deps, g.Ignore), nil, reqRel, false)
	if total > 0 {
		r.Figures["dependencies"] = float64(total)
		r.Figures["audited"] = float64(total)
		if r.Figures["vulnerabilities"] == 0 {
			r.Summary = fmt.Sprintf("no known vulnerabilities in %s", plural(total, "dependency"))
		} else {
			r.Summary = fmt.Sprintf("%s in %d of %s", plural(int(r.Figures["vulnerabilities"]), "vulnerability"),
				int(r.Figures["vulnerable"]), plural(total, "dependency"))
		}
	}
}

// safetyJSON is `safety check --output json` (safety 2.x and 3.x's check).
type safetyJSON struct {
	ReportMeta struct {
		PackagesFound int `json:"packages_found"`
	} `json:"report_meta"`
	ScannedPackages map[string]json.RawMessage `json:"scanned_packages"`
	Vulnerabilities []safetyVuln               `json:"vulnerabilities"`
}

type safetyVuln struct {
	ID              string   `json:"vulnerability_id"`
	Package         string   `json:"package_name"`
	AnalyzedVersion string   `json:"analyzed_version"`
	VulnerableSpec  string   `json:"vulnerable_spec"`
	Advisory        string   `json:"advisory"`
	CVE             string   `json:"CVE"`
	FixedVersions   []string `json:"fixed_versions"`
}

// parseSafety reads safety's JSON: the 2.x/3.x object, or safety 1.x's list
// of [name, spec, version, advisory, id, ...] rows. It returns the findings
// grouped per package in pip-audit's shape, and how many packages safety
// scanned when it says.
func parseSafety(data []byte) ([]AuditDependency, int, error) {
	data = jsonStart(data)
	var vulns []safetyVuln
	total := 0
	if len(data) > 0 && data[0] == '[' {
		var rows [][]any
		if err := json.Unmarshal(data, &rows); err != nil {
			return nil, 0, fmt.Errorf("parse safety report: %w", err)
		}
		for _, row := range rows {
			str := func(i int) string {
				if i < len(row) {
					if s, ok := row[i].(string); ok {
						return s
					}
				}
				return ""
			}
			vulns = append(vulns, safetyVuln{Package: str(0), VulnerableSpec: str(1), AnalyzedVersion: str(2), Advisory: str(3), ID: str(4), CVE: str(5)})
		}
	} else {
		var doc safetyJSON
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
			return nil, 0, fmt.Errorf("parse safety report: %w", err)
		}
		if doc.Vulnerabilities == nil && doc.ScannedPackages == nil {
			return nil, 0, errors.New("parse safety report: no vulnerabilities key")
		}
		vulns = doc.Vulnerabilities
		total = doc.ReportMeta.PackagesFound
		if total == 0 {
			total = len(doc.ScannedPackages)
		}
	}
	byPkg := map[string]*AuditDependency{}
	var order []string
	for _, v := range vulns {
		key := normalizeName(v.Package) + "==" + v.AnalyzedVersion
		d, ok := byPkg[key]
		if !ok {
			d = &AuditDependency{Name: normalizeName(v.Package), Version: v.AnalyzedVersion, Vulns: []AuditVuln{}}
			byPkg[key] = d
			order = append(order, key)
		}
		av := AuditVuln{ID: v.ID, FixVersions: nonNil(v.FixedVersions), Aliases: []string{}, Description: firstParagraph(v.Advisory)}
		if v.CVE != "" {
			av.Aliases = append(av.Aliases, v.CVE)
		}
		d.Vulns = append(d.Vulns, av)
	}
	sort.Strings(order)
	deps := make([]AuditDependency, 0, len(order))
	for _, k := range order {
		deps = append(deps, *byPkg[k])
	}
	return deps, total, nil
}
