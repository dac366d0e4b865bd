package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/text"
)

// problem is one thing wrong in a configuration file, located where a
// person will look for it. It leaves the package as a *fail.Error.
type problem struct {
	File    string
	Line    int
	Col     int
	Message string
	Hint    string
}

func (p problem) err() error {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fail.Usage(errors.New(loc+": "+p.Message), p.Hint)
}

// problems is every problem found in one file; they are reported together
// so a person fixes them in one pass.
type problems []problem

// err joins the problems into one usage error that fail.Format prints
// one by one, each with its hint.
func (ps problems) err() error { return joinProblems(ps.errs()) }

func (ps problems) errs() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p.err()
	}
	return errs
}

func joinProblems(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return fail.Usage(errors.Join(errs...))
}

// position is where an error's message says it is (FILE:LINE:COL: …), so
// that problems found by different passes are reported in file order.
var position = text.Pattern(`^.*?:(\d+):(\d+): `)

// sortByPosition orders errs by the line and column their messages
// start with; errors without one keep their place after those before them.
func sortByPosition(errs []error) {
	key := func(e error) (int, int, bool) {
		m := position().FindStringSubmatch(e.Error())
		if m == nil {
			return 0, 0, false
		}
		l, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return l, c, true
	}
	sort.SliceStable(errs, func(i, j int) bool {
		li, ci, oki := key(errs[i])
		lj, cj, okj := key(errs[j])
		if !oki || !okj {
			return false
		}
		return li < lj || (li == lj && ci < cj)
	})
}

// decoder walks yaml nodes against Go types by reflection instead of using
// yaml.v3's Decode, because Decode reports neither columns nor all errors
// at once, and cannot suggest the key that was meant.
type decoder struct {
	file     string
	problems problems
	// paths records where each dotted key path was written, so later
	// validation can point at the line.
	paths map[string]*yaml.Node
	// bad holds the paths whose value could not be decoded: validation
	// says nothing more about them (their Go value is a default, not what
	// the file says).
	bad map[string]bool
	// aliases maps the stand-in of an aliased value (placed where the
	// alias is written) to the alias, so that messages name both.
	aliases map[*yaml.Node]*yaml.Node
	// nodes counts the values decoded: aliases can make a short file
	// expand without bound ("billion laughs").
	nodes int
}

// maxNodes bounds what a file may expand to through aliases.
const maxNodes = 100000

func (d *decoder) fail(n *yaml.Node, hint, format string, args ...any) {
	p := problem{File: d.file, Message: fmt.Sprintf(format, args...), Hint: hint}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
		if a := d.aliases[n]; a != nil {
			p.Message += fmt.Sprintf(" (through alias *%s; its anchor &%s is at %d:%d)", a.Value, a.Value, a.Alias.Line, a.Alias.Column)
		}
	}
	d.problems = append(d.problems, p)
}

// failAt is fail for the value at path: validation skips that path after.
func (d *decoder) failAt(path string, n *yaml.Node, hint, format string, args ...any) {
	d.bad[path] = true
	d.fail(n, hint, format, args...)
}

var durationType = reflect.TypeOf(time.Duration(0))

// coreTags are the tags of YAML's core schema: plain strings, numbers,
// booleans, null, lists and mappings, the only values ferry.yml has. An
// explicit tag outside them (!!binary, !!timestamp, !!set, a local !tag)
// asks for a value ferry.yml cannot hold, and is refused.
var coreTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!map": true, "!!seq": true}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	}
	return fmt.Sprintf("the string %q", n.Value)
}

// resolve follows an alias to its anchored value. The value it returns
// for an alias is a stand-in placed where the alias is written: a wrong
// type is reported where the alias is used, naming the anchor, while
// what the anchored value holds is reported where it is written.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
	if n.Kind != yaml.AliasNode {
		return n, true
	}
	if n.Alias == nil {
		d.failAt(path, n, "define the anchor (&"+n.Value+") before the alias that uses it", "unknown anchor %q", n.Value)
		return nil, false
	}
	stand := *n.Alias
	stand.Line, stand.Column = n.Line, n.Column
	d.aliases[&stand] = n
	return &stand, true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.nodes++; d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.failAt(path, n, "use fewer aliases: ferry.yml is small", "the file expands to more than %d values through aliases", maxNodes)
		}
		d.bad[path] = true
		return
	}
	n, ok := d.resolve(n, path)
	if !ok {
		return
	}
	d.paths[path] = n
	if n.Style&yaml.TaggedStyle != 0 && !coreTags[n.Tag] {
		d.failAt(path, n, "remove the tag: ferry.yml holds plain strings, numbers, booleans, lists and mappings", "%s: the tag %s is not allowed in ferry.yml", displayPath(path), n.Tag)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // keep the default
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.failAt(path, n, `write a duration such as "30s", "2m" or "1h30m"`, "%s must be a duration, not %s", path, kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil || dur < 0 {
			d.failAt(path, n, `write a duration such as "30s", "2m" or "1h30m"`, "%s: %q is not a duration", path, n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Type() == commandsType {
		d.decodeCommands(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.failAt(path, n, "", "%s must be a mapping, not %s", path, kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if !d.key(k, path) {
				continue
			}
			sub := path + "." + k.Value
			if first := seen[k.Value]; first != nil {
				d.fail(k, "remove one of them", "%s is set twice (first at %d:%d)", sub, first.Line, first.Column)
				continue
			}
			seen[k.Value] = k
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem, sub)
			d.paths[sub+"#key"] = k
			v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String {
			// One string where a list is expected is a list of one.
			v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), reflect.ValueOf(n.Value)))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.failAt(path, n, "", "%s must be a list, not %s", path, kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.failAt(path, n, "", "%s must be a string, not %s", path, kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.failAt(path, n, "write true or false", "%s must be true or false, not %s", path, kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.failAt(path, n, "", "%s must be a whole number, not %s", path, kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			d.failAt(path, n, "", "%s must be a number, not %s", path, kindName(n))
			return
		}
		v.SetFloat(f)
	default:
		d.failAt(path, n, "", "%s: unsupported type %s", path, v.Type())
	}
}

var commandsType = reflect.TypeOf(Commands(nil))

// decodeCommands reads hooks: one argument vector ([python, -m, flask,
// init-db]) or a list of them. A string is refused: a hook never goes
// through a shell, and splitting it would guess at its quoting.
func (d *decoder) decodeCommands(n *yaml.Node, v reflect.Value, path string) {
	const hint = "write an argument vector, e.g. [python, -m, flask, --app, flaskr, init-db], or a list of them"
	if n.Kind == yaml.ScalarNode {
		d.failAt(path, n, hint, "%s is a string; a hook is an argument vector, never a shell string", path)
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.failAt(path, n, hint, "%s must be a list, not %s", path, kindName(n))
		return
	}
	if len(n.Content) == 0 {
		return
	}
	// The first element decides: a word starts one vector, a list starts
	// a list of vectors.
	var out Commands
	if first, ok := d.resolve(n.Content[0], path); ok && first.Kind == yaml.SequenceNode {
		for i, c := range n.Content {
			var argv []string
			sub := fmt.Sprintf("%s[%d]", path, i)
			if c.Kind == yaml.ScalarNode {
				d.failAt(sub, c, hint, "%s is a string in a list of commands; each command is an argument vector", sub)
				continue
			}
			d.decode(c, reflect.ValueOf(&argv).Elem(), sub)
			out = append(out, argv)
		}
	} else {
		for i, c := range n.Content {
			if c.Kind == yaml.SequenceNode || c.Kind == yaml.MappingNode {
				d.failAt(path, c, hint, "%s[%d] is %s in a command of words: give one vector, or a list of vectors", path, i, kindName(c))
				return
			}
		}
		var argv []string
		d.decode(n, reflect.ValueOf(&argv).Elem(), path)
		out = Commands{argv}
	}
	v.Set(reflect.ValueOf(out))
}

// key checks a mapping key: a plain string, not an alias, a merge (<<),
// a tag or a list. It reports and returns false otherwise.
func (d *decoder) key(k *yaml.Node, path string) bool {
	in := displayPath(path)
	switch {
	case k.Kind == yaml.AliasNode:
		d.fail(k, "write the key itself", "an alias (*%s) cannot be a key in %s", k.Value, in)
	case k.Tag == "!!merge":
		d.bad[path] = true
		d.fail(k, "write the keys out: ferry.yml does not merge mappings; an alias (*name) can stand for a whole value", "merge keys (<<) are not supported in %s", in)
	case k.Kind != yaml.ScalarNode:
		d.fail(k, "keys are plain names", "a key in %s must be a string, not %s", in, kindName(k))
	case k.Style&yaml.TaggedStyle != 0 && k.Tag != "!!str":
		d.fail(k, "remove the tag", "the key %q in %s has the tag %s, which ferry.yml does not allow", k.Value, in, k.Tag)
	default:
		return true
	}
	return false
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.failAt(path, n, "", "%s must be a mapping, not %s", displayPath(path), kindName(n))
		return
	}
	fields := map[string]int{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := yamlName(t.Field(i))
		if name != "" {
			fields[name] = i
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.key(k, path) {
			continue
		}
		key := k.Value
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		if first := seen[key]; first != nil {
			d.fail(k, "remove one of them", "%s is set twice (first at %d:%d)", sub, first.Line, first.Column)
			continue
		}
		seen[key] = k
		idx, ok := fields[key]
		if !ok {
			hint := ""
			if s := closest(key, keys(fields)); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			} else {
				hint = "known keys here: " + strings.Join(keys(fields), ", ")
			}
			d.fail(k, hint, "unknown key %q in %s", key, displayPath(path))
			continue
		}
		d.paths[sub+"#key"] = k
		d.decode(val, v.Field(idx), sub)
	}
}

func displayPath(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// closest returns the candidate within a small edit distance of s, the
// usual typo, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
