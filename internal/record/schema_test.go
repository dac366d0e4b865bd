package record_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/record"
)

type schemaNode struct {
	Properties map[string]*schemaNode `json:"properties"`
	Items      *schemaNode            `json:"items"`
	Required   []string               `json:"required"`
	Enum       []string               `json:"enum"`
}

// jsonFields lists a struct type's JSON field names, and the struct
// type behind each (for nesting).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		out[name] = ft
	}
	return out
}

// The schema document and the Go types describe the same fields, at
// every level, so neither drifts from the other.
func TestJSONSchemaMatchesTheTypes(t *testing.T) {
	var root schemaNode
	if err := json.Unmarshal(record.JSONSchema, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, n *schemaNode, typ reflect.Type)
	walk = func(path string, n *schemaNode, typ reflect.Type) {
		if n.Items != nil {
			n = n.Items
		}
		fields := jsonFields(typ)
		for name, ft := range fields {
			p, ok := n.Properties[name]
			if !ok {
				t.Errorf("%s.%s is in the Go type but not in schema.json", path, name)
				continue
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
				walk(path+"."+name, p, ft)
			}
		}
		for name := range n.Properties {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s.%s is in schema.json but not in the Go type", path, name)
			}
		}
		for _, r := range n.Required {
			if _, ok := fields[r]; !ok {
				t.Errorf("%s requires %s, which the Go type lacks", path, r)
			}
		}
	}
	walk("record", &root, reflect.TypeFor[record.Record]())

	outcomes := []string{string(record.OutcomeDeployed), string(record.OutcomeOK), string(record.OutcomeFailed), string(record.OutcomeRolledBack),
		string(record.OutcomeRollbackFailed), string(record.OutcomeLocked), string(record.OutcomeRefused), string(record.OutcomeInterrupted), string(record.OutcomeUnknown)}
	if got := root.Properties["outcome"].Enum; !slices.Equal(got, outcomes) {
		t.Errorf("schema outcomes %v, want %v", got, outcomes)
	}
}
