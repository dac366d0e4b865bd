package workflows

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
)

// Marker is the first comment line of every generated workflow: Lint
// applies ferry's hardening rules to the files that carry it, and its
// number changes only when the templates' shape does (not with every
// ferry release, which would make every upgrade look like drift).
const Marker = "ferry:generated workflows/1"

//go:embed templates/*.tmpl
var templateFS embed.FS

// The templates use [[ ]] so that GitHub's ${{ }} is plain text in them.
// Parsed at first use, not at init: every start of ferry would pay for it.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Delims("[[", "]]").Funcs(template.FuncMap{
		// q quotes a string for YAML: a JSON string is a YAML double-quoted
		// scalar.
		"q": func(s string) string {
			b, _ := json.Marshal(s)
			return string(b)
		},
		"outcome": func(what, commit string) outcomeView {
			return outcomeView{What: what, CommitExpr: commit}
		},
	}).ParseFS(templateFS, "templates/*.tmpl"))
})

// File is one file Render writes: a slash path relative to the
// repository root and its content.
type File struct {
	Path string
	Data []byte
}

// view is what the templates see: the normalized model and the
// expressions derived from it.
type view struct {
	Model
	Marker              string
	CheckoutRef         bool
	CheckPath           string
	DeployPath          string
	DeployBranches      []string
	BranchList          string
	BranchCondition     string
	EnvironmentByBranch string
	URLByEnvironment    string
	VarRoleARN          string
	VarRegion           string
}

// WithRef is the view for a checkout of the deploy's inputs.ref.
func (v view) WithRef() view {
	v.CheckoutRef = true
	return v
}

type outcomeView struct {
	What       string
	CommitExpr string
}

// lit is a ${{ }} string literal; normalized has ruled out quotes.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func newView(m Model) view {
	v := view{Model: m, Marker: Marker, CheckPath: CheckPath, DeployPath: DeployPath, VarRoleARN: VarRoleARN, VarRegion: VarRegion}
	var conds, byBranch, byURL, pairs []string
	for _, e := range m.Environments {
		if e.Branch != "" {
			v.DeployBranches = append(v.DeployBranches, e.Branch)
			conds = append(conds, "github.ref == "+lit("refs/heads/"+e.Branch))
			byBranch = append(byBranch, "github.ref == "+lit("refs/heads/"+e.Branch)+" && "+lit(e.Name))
			pairs = append(pairs, e.Branch+" → "+e.Name)
		}
		if e.URL != "" {
			byURL = append(byURL, "inputs.environment == "+lit(e.Name)+" && "+lit(e.URL))
		}
	}
	v.BranchList = strings.Join(pairs, ", ")
	v.BranchCondition = strings.Join(conds, " || ")
	v.EnvironmentByBranch = strings.Join(append(byBranch, "''"), " || ")
	v.URLByEnvironment = strings.Join(append(byURL, "''"), " || ")
	return v
}

// Render renders the four workflows and the gate tools' requirements
// file from m, in a fixed order (check, cicd, deploy, rollback,
// requirements), and lints the workflows with actionlint and ferry's
// hardening rules: a finding is a bug in ferry or a model it should have
// refused, and Render returns it as an error rather than write a broken
// pipeline. ferry-cicd.yml is left out when no environment has a branch
// (nothing deploys on push then).
func Render(m Model) ([]File, error) {
	m, err := m.normalized()
	if err != nil {
		return nil, err
	}
	v := newView(m)
	var files []File
	for _, w := range []struct{ path, tmpl string }{
		{CheckPath, "ferry-check.yml.tmpl"},
		{CICDPath, "ferry-cicd.yml.tmpl"},
		{DeployPath, "ferry-deploy.yml.tmpl"},
		{RollbackPath, "ferry-rollback.yml.tmpl"},
	} {
		if w.path == CICDPath && len(v.DeployBranches) == 0 {
			continue
		}
		var b bytes.Buffer
		if err := templates().ExecuteTemplate(&b, w.tmpl, v); err != nil {
			return nil, fmt.Errorf("workflows: render %s: %w", w.path, err)
		}
		files = append(files, File{Path: w.path, Data: tidy(b.Bytes())})
	}
	files = append(files, File{Path: m.GateRequirements, Data: GateRequirementsFile(m.GatePins)})

	findings, err := LintFiles(files)
	if err != nil {
		return nil, err
	}
	if len(findings) > 0 {
		var errs []error
		for _, f := range findings {
			errs = append(errs, errors.New(f.String()))
		}
		return nil, fail.New(exitcode.Failed, fmt.Errorf("workflows: the generated workflows do not pass actionlint: %w", errors.Join(errs...)),
			"this is a bug in ferry: please report it with the model (ferry init --json shows it)")
	}
	return files, nil
}

// tidy drops trailing spaces and collapses runs of blank lines that the
// templates' optional sections leave, and ends the file with one newline.
func tidy(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" && len(out) > 0 && out[len(out)-1] == "" {
			continue
		}
		out = append(out, l)
	}
	return []byte(strings.TrimSpace(strings.Join(out, "\n")) + "\n")
}
