package notify

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/ferryhq/ferry/internal/text"
)

// DefaultPre is the SOP's pre-deployment message. The first line of a
// rendered template is the title (Slack's header, the card's heading, the
// mail's subject); the rest is the body.
const DefaultPre = `{{if .Emergency}}EMERGENCY deployment{{else}}Deployment{{end}} of {{.App}} to {{.Environment}} starting
Environment: {{.Environment}}
Time: {{time .Started}}
Expected duration: {{if .Estimate}}about {{duration .Estimate}}{{else}}unknown{{end}}
Commit: {{short .SHA}}{{with .Ref}} ({{.}}){{end}}
Deployer: {{.Deployer}}
{{- with .Approvers}}
Approvers: {{join . ", "}}
{{- end}}
{{- with .Emergency}}
Emergency reason: {{.Reason}}
Responsibility taken by: {{.Actor}}
{{- with .Overridden}}
Overrides: {{join . "; "}}
{{- end}}
{{- end}}
Changes:
{{- range .Changes}}
- {{.}}
{{- else}}
- (none listed)
{{- end}}
{{- with .URL}}
Run: {{.}}
{{- end}}
`

// DefaultPost is the SOP's post-deployment message.
const DefaultPost = `Deployment of {{.App}} to {{.Environment}}: {{.StatusText}}
Status: {{.StatusText}}
Commit: {{.SHA}}
Completed: {{time .Finished}}
Duration: {{duration .Duration}}
{{- with .Health}}
Health: {{.}}
{{- end}}
{{- with .Emergency}}
Emergency reason: {{.Reason}} (responsibility: {{.Actor}})
{{- end}}
{{- with .Error}}
Error: {{.}}
{{- end}}
{{- range .Hints}}
Hint: {{.}}
{{- end}}
{{- with .URL}}
Run: {{.}}
{{- end}}
`

// funcs are the template functions. time and duration are rebound per
// message (its Location); these are the signatures parsing checks against.
func funcs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		// time shows an instant in the environment's zone; the zero time as "-".
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
		},
		"duration": humanDuration,
		"short":    text.Short,
		"join":     func(s []string, sep string) string { return strings.Join(s, sep) },
	}
}

// humanDuration rounds to the second and drops zero units: "2m5s",
// "3m", "1h".
func humanDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// compiled is a channel's pair of templates.
type compiled struct {
	pre, post *template.Template
}

func parseTemplate(name, src string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs(time.UTC)).Parse(src)
	if err != nil {
		return nil, err
	}
	if err := checkFields(t); err != nil {
		return nil, err
	}
	return t, nil
}

// templateError is a problem with one of a channel's templates.
type templateError struct {
	name string // pre or post
	err  error
}

func (e templateError) Error() string { return e.name + ": " + e.err.Error() }

// compileTemplates parses a channel's templates (defaults where empty) and
// proves them on sample messages of every event, so a mistake is found
// by ferry validate, not during a deployment.
func compileTemplates(pre, post string) (compiled, []templateError) {
	var c compiled
	var errs []templateError
	if pre == "" {
		pre = DefaultPre
	}
	if post == "" {
		post = DefaultPost
	}
	var err error
	if c.pre, err = parseTemplate("pre", pre); err != nil {
		errs = append(errs, templateError{"pre", err})
	}
	if c.post, err = parseTemplate("post", post); err != nil {
		errs = append(errs, templateError{"post", err})
	}
	if errs != nil {
		return c, errs
	}
	failed := map[string]bool{}
	for _, m := range samples() {
		name := "post"
		if m.Event.pre() {
			name = "pre"
		}
		if failed[name] {
			continue
		}
		if _, _, err := c.render(m); err != nil {
			failed[name] = true
			errs = append(errs, templateError{name, fmt.Errorf("fails on a %s message: %w", m.Event, err)})
		}
	}
	return c, errs
}

// render executes the template for m's event: its title and body.
func (c compiled) render(m *Message) (title, body string, err error) {
	t := c.post
	if m.Event.pre() {
		t = c.pre
	}
	t, err = t.Clone()
	if err != nil {
		return "", "", err
	}
	var b bytes.Buffer
	if err := t.Funcs(funcs(m.loc())).Execute(&b, m); err != nil {
		return "", "", err
	}
	title, body, _ = strings.Cut(strings.TrimLeft(b.String(), "\n"), "\n")
	title = strings.TrimSpace(title)
	if title == "" {
		title = fmt.Sprintf("ferry: %s %s to %s", m.Event, m.App, m.Environment)
	}
	return title, strings.TrimRight(body, "\n "), nil
}

// samples are the messages templates are proven on: each event filled in,
// and each with only what is always known (nil Emergency, no Ref...), so
// {{.Emergency.Reason}} outside a {{with}} fails here, not in production.
func samples() []*Message {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var out []*Message
	for _, e := range Events {
		full := &Message{Event: e, App: "billing", Environment: "production", SHA: strings.Repeat("a1", 20), Ref: "main",
			Deployer: "Ada <ada@example.com>", Approvers: []string{"Grace"}, Started: t0, Estimate: 3 * time.Minute,
			Changes: []string{"Fix rounding"}, URL: "https://ci.example.com/run/1",
			Emergency: &EmergencyInfo{Actor: "Ada", Reason: "outage", Overridden: []string{"window Tue-Thu 10:00-14:00"}}}
		if !e.pre() {
			full.Finished, full.Duration, full.Health = t0.Add(2*time.Minute), 2*time.Minute, "healthy"
			if e != Success {
				full.Error, full.Hints = "health check failed", []string{"read the logs"}
			}
		}
		out = append(out, full, &Message{Event: e, App: "billing", Environment: "production", SHA: strings.Repeat("a1", 20), Started: t0})
	}
	return out
}

// checkFields walks a parsed template and refuses fields Message does not
// have. text/template finds them only when a branch runs; this finds
// them in every branch, with the line and column.
func checkFields(t *template.Template) error {
	root := reflect.TypeOf(&Message{})
	c := fieldChecker{root: root, tree: t.Tree}
	c.list(t.Tree.Root, root)
	return c.err
}

type fieldChecker struct {
	root reflect.Type
	tree *parse.Tree
	err  error
}

func (c *fieldChecker) fail(n parse.Node, format string, args ...any) {
	if c.err == nil {
		loc, _ := c.tree.ErrorContext(n)
		c.err = fmt.Errorf("%s: %s", loc, fmt.Sprintf(format, args...))
	}
}

// list checks a list of nodes whose dot has type dot (nil: unknown).
func (c *fieldChecker) list(l *parse.ListNode, dot reflect.Type) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			c.pipe(n.Pipe, dot)
		case *parse.IfNode:
			c.pipe(n.Pipe, dot)
			c.list(n.List, dot)
			c.list(n.ElseList, dot)
		case *parse.WithNode:
			c.pipe(n.Pipe, dot)
			c.list(n.List, c.pipeType(n.Pipe, dot))
			c.list(n.ElseList, dot)
		case *parse.RangeNode:
			c.pipe(n.Pipe, dot)
			c.list(n.List, elemType(c.pipeType(n.Pipe, dot)))
			c.list(n.ElseList, dot)
		case *parse.TemplateNode:
			c.pipe(n.Pipe, dot)
		}
	}
}

func (c *fieldChecker) pipe(p *parse.PipeNode, dot reflect.Type) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			switch a := arg.(type) {
			case *parse.FieldNode:
				c.resolve(a, dot, a.Ident)
			case *parse.VariableNode:
				if a.Ident[0] == "$" {
					c.resolve(a, c.root, a.Ident[1:])
				}
			case *parse.PipeNode:
				c.pipe(a, dot)
			case *parse.ChainNode:
				if p, ok := a.Node.(*parse.PipeNode); ok {
					c.pipe(p, dot)
				}
			}
		}
	}
}

// pipeType is the type a pipeline yields when it is one field (or $, or
// dot); nil when it cannot be told without running it.
func (c *fieldChecker) pipeType(p *parse.PipeNode, dot reflect.Type) reflect.Type {
	if len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return c.resolve(nil, dot, a.Ident)
	case *parse.VariableNode:
		if a.Ident[0] == "$" {
			return c.resolve(nil, c.root, a.Ident[1:])
		}
	case *parse.DotNode:
		return dot
	}
	return nil
}

func elemType(t reflect.Type) reflect.Type {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return t.Elem()
	}
	return nil
}

// resolve follows a field chain from t and returns its type; n == nil
// means do not report (the chain was reported where it was first checked).
func (c *fieldChecker) resolve(n parse.Node, t reflect.Type, idents []string) reflect.Type {
	for _, id := range idents {
		if t == nil {
			return nil
		}
		if m, ok := t.MethodByName(id); ok {
			if m.Type.NumOut() == 0 {
				return nil
			}
			t = m.Type.Out(0)
			continue
		}
		base := t
		for base.Kind() == reflect.Pointer {
			base = base.Elem()
		}
		if m, ok := base.MethodByName(id); ok {
			t = m.Type.Out(0)
			continue
		}
		switch base.Kind() {
		case reflect.Struct:
			if f, ok := base.FieldByName(id); ok && f.IsExported() {
				t = f.Type
				continue
			}
			if n != nil {
				c.fail(n, "unknown field .%s; %s has %s", id, typeName(base), strings.Join(fieldNames(base), ", "))
			}
			return nil
		case reflect.Map, reflect.Interface:
			return nil
		default:
			if n != nil {
				c.fail(n, "%s has no field .%s", typeName(base), id)
			}
			return nil
		}
	}
	return t
}

func typeName(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(Message{}):
		return "the message"
	case reflect.TypeOf(EmergencyInfo{}):
		return ".Emergency"
	}
	return t.String()
}

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}
