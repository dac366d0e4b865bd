package config

import (
	"reflect"
	"time"
)

// descriptions documents keys in the schema, for editors' tooltips.
var descriptions = map[string]string{
	"app":                 "Name of the application.",
	"dir":                 "The app's directory inside the repository; defaults to the directory of ferry.yml.",
	"start":               "Command that starts the app from the release directory; a leading python means the venv's interpreter.",
	"requirements":        "pip requirements file (or pyproject.toml), relative to dir; requirements.txt falls back to pyproject.toml beside it.",
	"python":              "Interpreter on the server that creates the virtualenv.",
	"runtime":             "What the app runs on: python (a venv, default), node (npm ci into node_modules keyed by package-lock.json) or none (a program run as given; python: none means this too).",
	"env":                 "Non-secret environment variables for the app.",
	"env_file":            "File in the server's shared/ directory with more variables (secrets).",
	"shared":              "Paths that survive releases, linked from shared/ into each release.",
	"health":              "How a started release proves it is healthy.",
	"stop_timeout":        "Time the old process gets to exit gracefully.",
	"keep_releases":       "Releases kept besides current and previous.",
	"keep_failed":         "Failed releases kept for diagnosis.",
	"environments":        "Where the app is deployed; each selects by branch and names a target.",
	"gates":               "Quality gates run by ferry check and before every deploy.",
	"hooks":               "Commands the agent runs on each server during a deploy, in the new release with its venv and environment; each an argument vector, never a shell string.",
	"hooks.before_switch": "Run after the release is built, before the switch (migrations); a failure stops the deploy with nothing changed.",
	"hooks.after_healthy": "Run once the new release answered healthy; a failure is a warning.",
	"hooks.on_failure":    "Run after a failed deploy, once what served before is restored; a failure is a warning.",
	"hooks.timeout":       "Bound on each hook command (default 10m).",
	"notify":              "Where deployments are announced: Slack, Teams, signed webhooks, email (docs/policy.md).",
}

// Schema returns a JSON Schema (draft 2020-12) of ferry.yml, derived from
// the same types the decoder fills, so the two cannot drift apart.
func Schema() map[string]any {
	s := schemaOf(reflect.TypeOf(Config{}), "")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["title"] = "ferry.yml"
	s["required"] = []string{"app", "environments"}
	return s
}

func schemaOf(t reflect.Type, path string) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s map[string]any
	switch {
	case t == commandsType:
		vector := map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1}
		s = map[string]any{"oneOf": []any{vector, map[string]any{"type": "array", "items": vector}}}
	case t == reflect.TypeOf(time.Duration(0)):
		s = map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	case t.Kind() == reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			name := yamlName(t.Field(i))
			if name == "" {
				continue
			}
			sub := name
			if path != "" {
				sub = path + "." + name
			}
			props[name] = schemaOf(t.Field(i).Type, sub)
		}
		s = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), path+".*")}
	case t.Kind() == reflect.Slice:
		s = map[string]any{"type": "array", "items": schemaOf(t.Elem(), path+"[]")}
	case t.Kind() == reflect.String:
		s = map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float64:
		s = map[string]any{"type": "number"}
	default:
		s = map[string]any{}
	}
	if d, ok := descriptions[path]; ok {
		s["description"] = d
	}
	if path == "runtime" {
		s["enum"] = []string{RuntimePython, RuntimeNode, RuntimeNone}
	}
	if path == "environments.*.target" {
		s["enum"] = []string{TargetLocal, TargetSSM}
	}
	return s
}
