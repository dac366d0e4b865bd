package gates

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

// requirement is one line of a requirements file that names a package.
type requirement struct {
	Name    string // as written
	Key     string // PEP 503 normalized, for matching
	Extras  []string
	Spec    string // version specifier as written, e.g. "==1.0" or ">=2,<3"
	Version string // the pinned version, when Pinned
	Pinned  bool
	Marker  string
	// Why explains an unpinned requirement: not pinned, a URL, editable.
	Why  string
	File string // relative to the app directory
	Line int
}

var (
	normalizeRe = text.Pattern(`[-_.]+`)
	// nameRe matches a PEP 508 project name, its extras and the rest.
	nameRe = text.Pattern(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$`)
	// commentRe is pip's rule: # starts a comment at line start or after whitespace.
	commentRe = text.Pattern(`(^|\s+)#.*$`)
	// optionRe finds per-requirement options such as --hash=... after a requirement.
	optionRe = text.Pattern(`\s--?[A-Za-z]`)
	specRe   = text.Pattern(`^\s*(===|==|~=|!=|<=|>=|<|>)\s*([^\s,;]+)\s*$`)
)

// normalizeName is PEP 503's normalization: Flask_Login and flask-login are
// one project.
func normalizeName(name string) string {
	return strings.ToLower(normalizeRe().ReplaceAllString(name, "-"))
}

// parseRequirementsFile reads a pip requirements file and every file it
// includes with -r. appDir anchors the File of each requirement; includes
// resolve against the including file's directory, as pip resolves them.
func parseRequirementsFile(appDir, path string) ([]requirement, error) {
	p := &reqParser{appDir: appDir, seen: map[string]bool{}}
	if err := p.file(path); err != nil {
		return nil, err
	}
	return p.reqs, nil
}

type reqParser struct {
	appDir string
	seen   map[string]bool
	reqs   []requirement
}

func (p *reqParser) file(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("requirements %s: %w", path, err)
	}
	if p.seen[abs] {
		return nil // an include cycle; pip would loop, ferry reads each file once
	}
	p.seen[abs] = true
	data, err := os.ReadFile(abs)
	if err != nil {
		return fmt.Errorf("read requirements: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	rel := relPath(p.appDir, abs)

	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := lines[i]
		// A trailing backslash joins the next physical line.
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + lines[i]
		}
		line = strings.TrimSuffix(line, `\`)
		line = strings.TrimSpace(commentRe().ReplaceAllString(line, ""))
		if line == "" {
			continue
		}
		if err := p.line(abs, rel, lineNo, line); err != nil {
			return err
		}
	}
	return nil
}

// optionValue splits "-r file", "-rfile", "--requirement=file" and
// "--requirement file" into the option's value.
func optionValue(line string, short, long string) (string, bool) {
	switch {
	case strings.HasPrefix(line, long+"="):
		return strings.TrimSpace(line[len(long)+1:]), true
	case strings.HasPrefix(line, long+" ") || strings.HasPrefix(line, long+"\t"):
		return strings.TrimSpace(line[len(long):]), true
	case short != "" && strings.HasPrefix(line, short):
		return strings.TrimSpace(strings.TrimPrefix(line[len(short):], "=")), true
	}
	return "", false
}

func (p *reqParser) line(abs, rel string, lineNo int, line string) error {
	if v, ok := optionValue(line, "-r", "--requirement"); ok {
		inc := v
		if !filepath.IsAbs(inc) {
			inc = filepath.Join(filepath.Dir(abs), inc)
		}
		if err := p.file(inc); err != nil {
			return fmt.Errorf("%s:%d: %w", rel, lineNo, err)
		}
		return nil
	}
	if v, ok := optionValue(line, "-e", "--editable"); ok {
		p.reqs = append(p.reqs, requirement{Name: v, Key: v, Why: "editable install, cannot audit", File: rel, Line: lineNo})
		return nil
	}
	if strings.HasPrefix(line, "-") {
		return nil // -c constraints and global options (--index-url, --hash-only runs) add no requirement
	}
	if loc := optionRe().FindStringIndex(line); loc != nil {
		line = strings.TrimSpace(line[:loc[0]])
	}
	if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "/") || strings.Contains(strings.SplitN(line, " ", 2)[0], "://") {
		p.reqs = append(p.reqs, requirement{Name: line, Key: line, Why: "a path or URL, cannot audit", File: rel, Line: lineNo})
		return nil
	}
	m := nameRe().FindStringSubmatch(line)
	if m == nil {
		return fmt.Errorf("%s:%d: cannot read requirement %q", rel, lineNo, line)
	}
	r := requirement{Name: m[1], Key: normalizeName(m[1]), File: rel, Line: lineNo}
	for _, x := range strings.Split(m[2], ",") {
		if x = strings.TrimSpace(x); x != "" {
			r.Extras = append(r.Extras, x)
		}
	}
	rest := strings.TrimSpace(m[3])
	if strings.HasPrefix(rest, "@") {
		r.Why = "a direct URL reference, cannot audit"
		if i := strings.Index(rest, " ;"); i >= 0 {
			r.Marker = strings.TrimSpace(rest[i+2:])
		}
		p.reqs = append(p.reqs, r)
		return nil
	}
	if spec, marker, ok := strings.Cut(rest, ";"); ok {
		rest, r.Marker = strings.TrimSpace(spec), strings.TrimSpace(marker)
	}
	rest = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")"))
	r.Spec = strings.ReplaceAll(rest, " ", "")
	clauses := strings.Split(rest, ",")
	if rest != "" && len(clauses) == 1 {
		if sm := specRe().FindStringSubmatch(clauses[0]); sm != nil && (sm[1] == "==" || sm[1] == "===") && !strings.HasSuffix(sm[2], ".*") {
			r.Pinned, r.Version = true, sm[2]
		}
	}
	if !r.Pinned {
		r.Why = "not pinned, cannot audit"
	}
	p.reqs = append(p.reqs, r)
	return nil
}
