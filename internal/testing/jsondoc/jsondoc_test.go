package jsondoc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/jsondoc"
)

const doc = "# t\n\n## Results\n\n| command | result |\n|---|---|\n| `go` | `thing` or null |\n\n" +
	"### `envelope`\n\n| field | type | meaning |\n|---|---|---|\n| `schema` | `integer` | |\n| `command` | `string` | |\n" +
	"| `ok` | `boolean` | |\n| `exit_code` | `integer` | |\n| `error` | `any` | |\n| `result` | `any` | |\n\n" +
	"### `thing`\n\n| field | type | meaning |\n|---|---|---|\n| `name` | `string` | |\n| `ms` | `integer` (optional) | |\n" +
	"| `tags` | `string[]` or null | |\n| `more` | `thing[]` (optional) | |\n"

func TestCheck(t *testing.T) {
	t.Parallel()
	d, err := jsondoc.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	thing := jsondoc.Type{Name: "thing"}
	for _, c := range []struct {
		json, wantErr string
	}{
		{`{"name": "a", "tags": null}`, ""},
		{`{"name": "a", "ms": 3, "tags": ["x"], "more": [{"name": "b", "tags": []}]}`, ""},
		{`{"name": "a", "tags": [], "ttl": 5000000000}`, `field "ttl" is not documented`},
		{`{"tags": []}`, `documented field "name" of thing is missing`},
		{`{"name": 1, "tags": []}`, "$.name: number, but documented as string"},
		{`{"name": "a", "ms": 1.5, "tags": []}`, "$.ms: 1.5 is not an integer"},
		{`{"name": "a", "tags": [], "more": [{"name": "b"}]}`, `$.more[0]: documented field "tags"`},
		{`null`, "null, but documented as thing"},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.json), &v); err != nil {
			t.Fatal(err)
		}
		err := d.Check(thing, v)
		if c.wantErr == "" && err != nil {
			t.Errorf("%s: %v", c.json, err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: error %v, want %q", c.json, err, c.wantErr)
		}
	}
	ok := `{"schema": 1, "command": "go", "ok": true, "exit_code": 0, "error": null, "result": {"name": "a", "tags": null}}`
	if _, err := d.CheckEnvelope("go", []byte(ok), 0); err != nil {
		t.Errorf("a good envelope: %v", err)
	}
	for want, out := range map[string]string{
		"more than one JSON value":                 ok + ok,
		"exit_code is 0, but the process exited 3": ok,
		"ok is true with exit_code 2":              strings.Replace(ok, `"exit_code": 0`, `"exit_code": 2`, 1),
	} {
		code := 0
		if strings.Contains(want, "exited 3") {
			code = 3
		}
		if strings.Contains(want, "exit_code 2") {
			code = 2
		}
		if _, err := d.CheckEnvelope("go", []byte(out), code); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if _, err := jsondoc.Parse([]byte("### `a`\n\n| f | t |\n|---|---|\n| `x` | `nothing` |\n")); err == nil {
		t.Error("a type that names nothing documented parsed")
	}
}
