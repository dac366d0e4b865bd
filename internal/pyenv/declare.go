package pyenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Declaration kinds: where an app declares what its venv holds.
const (
	// DeclRequirements is a pip requirements file (requirements.txt, or
	// pip-compile's output with hashes).
	DeclRequirements = "requirements"
	// DeclPyproject is pyproject.toml's PEP 621 [project] dependencies.
	DeclPyproject = "pyproject"
	// DeclNone is an app that declares nothing: an empty venv.
	DeclNone = "none"
)

// Declaration is what decides a venv's contents, read from a release.
type Declaration struct {
	// Kind is DeclRequirements, DeclPyproject or DeclNone.
	Kind string
	// File is the file read, relative to the release ("" for DeclNone).
	File string
	// Keyed is what the venv key hashes: the requirements file's bytes,
	// or the dependency list of pyproject.toml (not the whole file, so a
	// version bump or a tool's settings do not rebuild the venv).
	Keyed []byte
	// Requirements is what pip install -r gets, one requirement a line.
	Requirements []byte
	// Hashes says the file pins every requirement by hash (pip-compile
	// --generate-hashes): pip runs with --require-hashes, so a
	// requirement without one is refused rather than fetched unchecked.
	Hashes bool
	// Package says pyproject.toml declares a build system: the app is a
	// package. Its own code is not installed into the venv (see
	// docs/config.md): the venv is shared by every release with the same
	// dependencies, and an installed copy would go stale at the next
	// code-only deploy; the app runs from its release directory.
	Package bool
}

// Declared reads what the release at dir declares. requirements is the
// configured path (relative, slash-separated): a requirements file, or
// pyproject.toml. When a requirements file named requirements.txt is
// absent and a pyproject.toml sits beside it, that is read instead, so an
// app that declares its dependencies only in pyproject.toml needs no
// setting.
func Declared(dir, requirements string) (Declaration, error) {
	name := path.Clean(requirements)
	if path.Base(name) == "pyproject.toml" {
		return declaredPyproject(dir, name)
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err == nil {
		return Declaration{Kind: DeclRequirements, File: name, Keyed: b, Requirements: b, Hashes: hasHashes(b)}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Declaration{}, fmt.Errorf("read %s: %w", name, err)
	}
	if path.Base(name) == "requirements.txt" {
		pp := path.Join(path.Dir(name), "pyproject.toml")
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(pp))); err == nil {
			return declaredPyproject(dir, pp)
		}
	}
	return Declaration{Kind: DeclNone}, nil
}

func declaredPyproject(dir, name string) (Declaration, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) {
		return Declaration{Kind: DeclNone}, nil
	}
	if err != nil {
		return Declaration{}, fmt.Errorf("read %s: %w", name, err)
	}
	p, err := parsePyproject(b)
	if err != nil {
		return Declaration{}, fmt.Errorf("%s: %w", name, err)
	}
	if p.dynamicDeps {
		return Declaration{}, fmt.Errorf("%s: [project] dynamic lists dependencies, so only its build backend knows them", name)
	}
	var reqs bytes.Buffer
	for _, d := range p.deps {
		reqs.WriteString(d + "\n")
	}
	keyed := append([]byte("pyproject.toml [project] dependencies\x00"), reqs.Bytes()...)
	return Declaration{Kind: DeclPyproject, File: name, Keyed: keyed, Requirements: reqs.Bytes(), Package: p.buildSystem}, nil
}

// hasHashes reports a requirements file that pins by hash.
func hasHashes(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, "--hash=") || strings.Contains(line, "--hash ") || strings.HasPrefix(line, "--require-hashes") {
			return true
		}
	}
	return false
}

// WheelhouseDigest identifies what a find-links directory offers: the
// names and sizes of its files (pip reads a flat directory). Reading every
// wheel would cost as much as the install it saves; a rebuilt wheel keeps
// its name only when its version does not change, which pip would not
// reinstall either. "" when dir is not a directory.
func WheelhouseDigest(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var lines []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.IsDir() {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s\x00%d", e.Name(), info.Size()))
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

// pyproject is what ferry reads of pyproject.toml.
type pyproject struct {
	deps        []string
	dynamicDeps bool
	buildSystem bool
}

// parsePyproject reads the little of TOML that PEP 621 dependencies need
// (the agent links the standard library only): table headers, and the
// [project] keys dependencies (an array of strings, over several lines,
// with comments) and dynamic. Other keys and tables are skipped.
func parsePyproject(b []byte) (pyproject, error) {
	var p pyproject
	src := strings.ReplaceAll(string(b), "\r\n", "\n")
	lines := strings.Split(src, "\n")
	table := ""
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if strings.HasPrefix(line, "[[") {
				table = "[[" // an array of tables: nothing ferry reads
				continue
			}
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return p, fmt.Errorf("line %d: a table header without ']'", i+1)
			}
			table = strings.ReplaceAll(strings.TrimSpace(line[1:end]), " ", "")
			table = strings.ReplaceAll(table, `"`, "")
			if table == "build-system" {
				p.buildSystem = true
			}
			continue
		}
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			continue // a continuation of a value ferry skips
		}
		key = strings.Trim(strings.TrimSpace(key), `"'`)
		if table == "" && strings.HasPrefix(key, "project.") {
			table, key = "project", strings.TrimPrefix(key, "project.")
		}
		if table != "project" || (key != "dependencies" && key != "dynamic") {
			continue
		}
		// The value may span lines: gather until its brackets close.
		value := strings.TrimSpace(rest)
		for !arrayClosed(value) && i+1 < len(lines) {
			i++
			value += "\n" + lines[i]
		}
		items, err := stringArray(value)
		if err != nil {
			return p, fmt.Errorf("[project] %s: %w", key, err)
		}
		if key == "dependencies" {
			p.deps = items
		} else {
			for _, it := range items {
				if it == "dependencies" {
					p.dynamicDeps = true
				}
			}
		}
	}
	return p, nil
}

// arrayClosed reports whether v, which starts an array, has closed it:
// brackets outside strings and comments balance.
func arrayClosed(v string) bool {
	depth, seen := 0, false
	scanTOML(v, func(c byte) {
		switch c {
		case '[':
			depth++
			seen = true
		case ']':
			depth--
		}
	}, nil)
	return seen && depth <= 0
}

// scanTOML walks v calling code for each byte outside strings and
// comments and str for each string's decoded value.
func scanTOML(v string, code func(byte), str func(string)) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '#':
			for i < len(v) && v[i] != '\n' {
				i++
			}
		case '"', '\'':
			triple := strings.HasPrefix(v[i:], strings.Repeat(string(c), 3))
			delim := string(c)
			if triple {
				delim = strings.Repeat(string(c), 3)
			}
			i += len(delim)
			var sb strings.Builder
			for {
				if i >= len(v) {
					return errors.New("a string is not closed")
				}
				if strings.HasPrefix(v[i:], delim) {
					i += len(delim) - 1
					break
				}
				if c == '"' && v[i] == '\\' && i+1 < len(v) {
					i++
					switch v[i] {
					case 'n':
						sb.WriteByte('\n')
					case 't':
						sb.WriteByte('\t')
					default:
						sb.WriteByte(v[i])
					}
					i++
					continue
				}
				sb.WriteByte(v[i])
				i++
			}
			if str != nil {
				str(sb.String())
			}
		default:
			if code != nil {
				code(c)
			}
		}
	}
	return nil
}

// stringArray decodes a TOML array of strings.
func stringArray(v string) ([]string, error) {
	var items []string
	bad := false
	err := scanTOML(v, func(c byte) {
		if !strings.ContainsRune("[], \t\n\r", rune(c)) {
			bad = true
		}
	}, func(s string) { items = append(items, strings.TrimSpace(s)) })
	if err != nil {
		return nil, err
	}
	if bad || !strings.HasPrefix(strings.TrimSpace(v), "[") {
		return nil, errors.New("is not an array of strings")
	}
	return items, nil
}
