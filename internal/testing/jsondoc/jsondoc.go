// Package jsondoc checks ferry's --json output against its documentation,
// docs/json.md, so that the document cannot drift from the program: every
// field printed must be documented, with its type, and every documented
// field that is not optional must be printed.
//
// The document describes objects as Markdown tables under a heading that
// names them in backticks (### `deploy-result`), one row per field:
//
//	| `name` | `string` (optional) | meaning |
//
// Types are string, integer, number, boolean, any, map (an object with
// keys of its own, not checked), a documented object's name, and T[] for
// an array of T; "or null" allows null. A table headed | command | result
// | maps each command to the type of its result.
package jsondoc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Type is a documented type: a name, an array of it, perhaps null.
type Type struct {
	Name     string
	Array    bool
	Nullable bool
}

func (t Type) String() string {
	s := t.Name
	if t.Array {
		s += "[]"
	}
	if t.Nullable {
		s += " or null"
	}
	return s
}

// Field is one documented field of an object.
type Field struct {
	Type     Type
	Optional bool
}

// Doc is a parsed document.
type Doc struct {
	// Objects holds each documented object's fields by name.
	Objects map[string]map[string]Field
	// Results holds each command's result type.
	Results map[string]Type
}

var (
	heading  = regexp.MustCompile("^#{2,4} `([a-z0-9-]+)`\\s*$")
	backtick = regexp.MustCompile("`([^`]+)`")
)

// Load parses the document at path.
func Load(path string) (*Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a document.
func Parse(b []byte) (*Doc, error) {
	d := &Doc{Objects: map[string]map[string]Field{}, Results: map[string]Type{}}
	var object string  // the object whose table follows
	var inResults bool // inside the command | result table
	var inTable bool
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			object, inResults, inTable = "", false, false
			if m := heading.FindStringSubmatch(line); m != nil {
				object = m[1]
				if _, dup := d.Objects[object]; dup {
					return nil, fmt.Errorf("line %d: object %s documented twice", n, object)
				}
				d.Objects[object] = map[string]Field{}
			}
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !inTable {
			inTable = true
			inResults = len(cells) >= 2 && cells[0] == "command" && cells[1] == "result"
			continue // the header row
		}
		if strings.HasPrefix(cells[0], "---") || len(cells) < 2 {
			continue
		}
		name := backtick.FindStringSubmatch(cells[0])
		if name == nil {
			return nil, fmt.Errorf("line %d: the first cell names no field in backticks", n)
		}
		t, optional, err := parseType(cells[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		switch {
		case inResults:
			d.Results[name[1]] = t
		case object != "":
			d.Objects[object][name[1]] = Field{Type: t, Optional: optional}
		default:
			return nil, fmt.Errorf("line %d: a table that no object heading names", n)
		}
	}
	if err := d.checkRefs(); err != nil {
		return nil, err
	}
	return d, sc.Err()
}

func parseType(cell string) (Type, bool, error) {
	m := backtick.FindStringSubmatch(cell)
	if m == nil {
		return Type{}, false, fmt.Errorf("type cell %q has no type in backticks", cell)
	}
	t := Type{Name: m[1], Nullable: strings.Contains(cell, "or null")}
	if n, ok := strings.CutSuffix(t.Name, "[]"); ok {
		t.Name, t.Array = n, true
	}
	return t, strings.Contains(cell, "(optional)"), nil
}

func primitive(name string) bool {
	switch name {
	case "string", "integer", "number", "boolean", "any", "map":
		return true
	}
	return false
}

// checkRefs refuses a type that names nothing documented.
func (d *Doc) checkRefs() error {
	check := func(where string, t Type) error {
		if !primitive(t.Name) && d.Objects[t.Name] == nil {
			return fmt.Errorf("%s: type %s is not documented", where, t.Name)
		}
		return nil
	}
	var errs []error
	for obj, fields := range d.Objects {
		for name, f := range fields {
			errs = append(errs, check(obj+"."+name, f.Type))
		}
	}
	for cmd, t := range d.Results {
		errs = append(errs, check("result of "+cmd, t))
	}
	return errors.Join(errs...)
}

// Check validates a decoded JSON value (from json.Unmarshal into any,
// with UseNumber or not) against type t; the error lists every mismatch,
// each at its path.
func (d *Doc) Check(t Type, v any) error {
	var errs []error
	d.check("$", t, v, &errs)
	return errors.Join(errs...)
}

func (d *Doc) check(path string, t Type, v any, errs *[]error) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
	}
	if v == nil {
		if !t.Nullable && t.Name != "any" {
			bad("null, but documented as %s", t)
		}
		return
	}
	if t.Array {
		arr, ok := v.([]any)
		if !ok {
			bad("%s, but documented as %s", kind(v), t)
			return
		}
		for i, e := range arr {
			d.check(fmt.Sprintf("%s[%d]", path, i), Type{Name: t.Name}, e, errs)
		}
		return
	}
	switch t.Name {
	case "any":
	case "string", "boolean", "map":
		want := map[string]string{"string": "string", "boolean": "boolean", "map": "object"}[t.Name]
		if kind(v) != want {
			bad("%s, but documented as %s", kind(v), t)
		}
	case "integer", "number":
		f, ok := number(v)
		if !ok {
			bad("%s, but documented as %s", kind(v), t)
		} else if t.Name == "integer" && f != math.Trunc(f) {
			bad("%v is not an integer", f)
		}
	default:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%s, but documented as object %s", kind(v), t.Name)
			return
		}
		fields := d.Objects[t.Name]
		for _, k := range sortedKeys(obj) {
			f, ok := fields[k]
			if !ok {
				bad("field %q is not documented in %s (docs/json.md)", k, t.Name)
				continue
			}
			d.check(path+"."+k, f.Type, obj[k], errs)
		}
		for _, k := range sortedKeys(fields) {
			if _, ok := obj[k]; !ok && !fields[k].Optional {
				bad("documented field %q of %s is missing", k, t.Name)
			}
		}
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Envelope is a decoded envelope.
type Envelope struct {
	Schema   int             `json:"schema"`
	Command  string          `json:"command"`
	OK       bool            `json:"ok"`
	ExitCode int             `json:"exit_code"`
	Error    json.RawMessage `json:"error"`
	Result   json.RawMessage `json:"result"`
}

// CheckEnvelope checks that stdout is exactly one envelope, documented,
// from command, consistent with the process's exit code, and that its
// result has the command's documented type.
func (d *Doc) CheckEnvelope(command string, stdout []byte, exitCode int) (*Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(stdout))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("stdout is not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("stdout holds more than one JSON value")
	}
	if err := d.Check(Type{Name: "envelope"}, v); err != nil {
		return nil, err
	}
	var env Envelope
	if err := json.Unmarshal(stdout, &env); err != nil {
		return nil, err
	}
	var errs []error
	if env.Command != command {
		errs = append(errs, fmt.Errorf("command is %q, want %q", env.Command, command))
	}
	if env.ExitCode != exitCode {
		errs = append(errs, fmt.Errorf("exit_code is %d, but the process exited %d", env.ExitCode, exitCode))
	}
	if env.OK != (env.ExitCode == 0) {
		errs = append(errs, fmt.Errorf("ok is %v with exit_code %d", env.OK, env.ExitCode))
	}
	if isNull(env.Error) != env.OK {
		errs = append(errs, fmt.Errorf("error is %s with ok %v", env.Error, env.OK))
	}
	rt, ok := d.Results[command]
	if !ok {
		errs = append(errs, fmt.Errorf("the result of %s is not documented", command))
	} else {
		errs = append(errs, d.Check(rt, v.(map[string]any)["result"]))
	}
	return &env, errors.Join(errs...)
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }
