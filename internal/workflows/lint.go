package workflows

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// Finding is one problem in a workflow file.
type Finding struct {
	// File is the path as given to Lint (or the File's Path).
	File string
	// Line and Col are 1-based.
	Line, Col int
	Message   string
	// Rule is actionlint's rule name (expression, permissions,
	// shellcheck…), or "ferry-hardening" for ferry's own rules.
	Rule string
}

// String is the finding as `file:line:col: message [rule]`, the form
// editors and GitHub's problem matchers read.
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", f.File, f.Line, f.Col, f.Message, f.Rule)
}

// HardeningRule is the name of ferry's own rules in findings.
const HardeningRule = "ferry-hardening"

// Lint lints workflow files with actionlint (v1.7.12, used as a library)
// and returns every finding, sorted by file and position; an error means
// a file could not be read at all. A path that is a directory stands for
// its *.yml and *.yaml files; no paths means .github/workflows. Files
// that ferry generated (they carry Marker) are also held to ferry's
// hardening rules (see hardening). shellcheck and pyflakes run on run:
// scripts only when they are on PATH, as actionlint's own command does.
func Lint(paths ...string) ([]Finding, error) {
	if len(paths) == 0 {
		paths = []string{filepath.Join(".github", "workflows")}
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fail.New(exitcode.Usage, fmt.Errorf("lint: %w", err), "give workflow files or a directory of them (default .github/workflows)")
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pat := range []string{"*.yml", "*.yaml"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			files = append(files, m...)
		}
	}
	sort.Strings(files)
	var plain, ours []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fail.New(exitcode.Usage, fmt.Errorf("lint: %w", err))
		}
		if generated(b) {
			ours = append(ours, f)
		} else {
			plain = append(plain, f)
		}
	}
	var out []Finding
	for _, set := range []struct {
		files  []string
		strict bool
	}{{plain, false}, {ours, true}} {
		if len(set.files) == 0 {
			continue
		}
		l, err := newLinter(set.strict, "")
		if err != nil {
			return nil, err
		}
		errs, err := l.LintFiles(set.files, nil)
		if err != nil {
			return nil, fail.New(exitcode.Failed, fmt.Errorf("lint: %w", err))
		}
		// actionlint names files relative to the working directory; a
		// finding names the file as it was given.
		names := map[string]string{}
		for _, f := range set.files {
			names[absPath(f)] = f
		}
		for _, e := range errs {
			if n, ok := names[absPath(e.Filepath)]; ok {
				e.Filepath = n
			}
		}
		out = append(out, findings(errs, nil)...)
	}
	sortFindings(out)
	return out, nil
}

// LintFiles lints rendered files (those ending in .yml or .yaml) before
// anything is written: they are laid out in a temporary repository so
// that calls between them (ferry-cicd.yml → ferry-deploy.yml) are checked
// against each other's inputs and secrets. Every file is held to the
// hardening rules.
func LintFiles(files []File) ([]Finding, error) {
	dir, err := os.MkdirTemp("", "ferry-workflows-")
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	defer os.RemoveAll(dir)
	// actionlint treats a directory with .git and .github/workflows as a
	// repository, which is what resolves ./.github/workflows/… calls.
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755); err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	var paths []string
	names := map[string]string{}
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".yml") && !strings.HasSuffix(f.Path, ".yaml") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("lint: %w", err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return nil, fmt.Errorf("lint: %w", err)
		}
		paths = append(paths, p)
		names[p] = f.Path
	}
	l, err := newLinter(true, dir)
	if err != nil {
		return nil, err
	}
	proj, err := actionlint.NewProject(dir)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	errs, err := l.LintFiles(paths, proj)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	out := findings(errs, names)
	sortFindings(out)
	return out, nil
}

func newLinter(strict bool, wd string) (*actionlint.Linter, error) {
	o := &actionlint.LinterOptions{
		Color:      actionlint.ColorOptionKindNever,
		Shellcheck: lookPath("shellcheck"),
		Pyflakes:   lookPath("pyflakes"),
		WorkingDir: wd,
	}
	if strict {
		o.OnRulesCreated = func(rules []actionlint.Rule) []actionlint.Rule {
			return append(rules, newHardening())
		}
	}
	// Findings are returned, not printed.
	l, err := actionlint.NewLinter(io.Discard, o)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	return l, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func lookPath(tool string) string {
	p, err := exec.LookPath(tool)
	if err != nil {
		return ""
	}
	return p
}

func findings(errs []*actionlint.Error, names map[string]string) []Finding {
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		file := e.Filepath
		if n, ok := names[file]; ok {
			file = n
		}
		out = append(out, Finding{File: file, Line: e.Line, Col: e.Column, Message: e.Message, Rule: e.Kind})
	}
	return out
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// generated tells a workflow ferry wrote by its Marker in the first lines.
func generated(b []byte) bool {
	head := b
	if len(head) > 512 {
		head = head[:512]
	}
	return bytes.Contains(head, []byte(Marker))
}

// hardening holds ferry's workflows to GitHub's security hardening
// advice, which actionlint does not enforce: a workflow that drops one of
// these after a hand edit fails `ferry lint`.
type hardening struct {
	actionlint.RuleBase
}

func newHardening() *hardening {
	return &hardening{RuleBase: actionlint.NewRuleBase(HardeningRule, "ferry's GitHub Actions hardening: least permissions, no expressions in scripts, no persisted credentials, pinned actions, secrets by name")}
}

// pinnedRef is a release tag (v6, v6.2, v6.2.3) or a full commit SHA: a
// branch (@main) moves under the workflow without any change to it.
var pinnedRef = text.Pattern(`^(v[0-9]+(\.[0-9]+){0,2}|[0-9a-f]{40})$`)

// VisitWorkflowPre checks that the token starts with no permissions.
func (r *hardening) VisitWorkflowPre(w *actionlint.Workflow) error {
	p := w.Permissions
	if p == nil {
		r.Error(&actionlint.Pos{Line: 1, Col: 1}, "the workflow must start with `permissions: {}` so that each job asks for what it needs")
	} else if p.All != nil || len(p.Scopes) > 0 {
		r.Error(p.Pos, "top-level permissions must be {}: give each job its own")
	}
	return nil
}

// VisitJobPre checks a job's permissions against what its steps do, and
// how a called workflow gets its secrets.
func (r *hardening) VisitJobPre(j *actionlint.Job) error {
	id := ""
	if j.ID != nil {
		id = j.ID.Value
	}
	if j.Permissions == nil {
		r.Errorf(j.Pos, "job %q must set its permissions (contents: read at least)", id)
		return nil
	}
	if j.Permissions.All != nil {
		r.Errorf(j.Permissions.Pos, "job %q must list its permissions scope by scope, not %q", id, j.Permissions.All.Value)
	}
	if c := j.WorkflowCall; c != nil {
		if c.InheritSecrets {
			r.Errorf(j.Pos, "job %q passes `secrets: inherit`: pass each secret by name", id)
		}
		// The called workflow's own jobs are checked where it is linted.
		return nil
	}
	uses := func(prefix string) bool {
		for _, s := range j.Steps {
			if a, ok := s.Exec.(*actionlint.ExecAction); ok && a.Uses != nil && strings.HasPrefix(a.Uses.Value, prefix) {
				return true
			}
		}
		return false
	}
	for name, sc := range j.Permissions.Scopes {
		if sc.Value == nil || sc.Value.Value != "write" {
			continue
		}
		switch name {
		case "id-token":
			if !uses("aws-actions/configure-aws-credentials@") {
				r.Errorf(sc.Value.Pos, "job %q asks for id-token: write but makes no AWS credentials", id)
			}
		case "security-events":
			if !uses("github/codeql-action/upload-sarif@") {
				r.Errorf(sc.Value.Pos, "job %q asks for security-events: write but uploads no SARIF", id)
			}
		default:
			r.Errorf(sc.Value.Pos, "job %q asks for %s: write, which no ferry step needs", id, name)
		}
	}
	return nil
}

// VisitStep checks scripts and action references.
func (r *hardening) VisitStep(s *actionlint.Step) error {
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		if e.Run != nil && strings.Contains(e.Run.Value, "${{") {
			r.Error(e.Run.Pos, "a run: script holds ${{ }}: pass the value through env: and use \"$NAME\", so no value is ever parsed as shell")
		}
	case *actionlint.ExecAction:
		if e.Uses == nil {
			return nil
		}
		u := e.Uses.Value
		if strings.HasPrefix(u, "./") || strings.HasPrefix(u, "docker://") {
			return nil
		}
		_, ref, _ := strings.Cut(u, "@")
		if !pinnedRef().MatchString(ref) {
			r.Errorf(e.Uses.Pos, "%s is not pinned to a release tag or a commit SHA", u)
		}
		if strings.HasPrefix(u, "actions/checkout@") {
			in := e.Inputs["persist-credentials"]
			if in == nil || in.Value == nil || in.Value.Value != "false" {
				r.Error(e.Uses.Pos, "actions/checkout must set persist-credentials: false: later steps need no git token on disk")
			}
		}
	}
	return nil
}
