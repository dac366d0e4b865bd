package agent

import (
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/internal/text"
)

// healthVar is a ${NAME} placeholder in a health URL.
var healthVar = text.Pattern(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// withoutHealthVars stands a digit in for each placeholder, so that a URL
// like http://127.0.0.1:${PORT}/health can be checked for shape.
func withoutHealthVars(raw string) string { return healthVar().ReplaceAllString(raw, "1") }

// healthURL is release r's health URL with ${NAME} replaced by the app's
// variable NAME (env file, then env:): servers that differ only in their
// env file, a port for instance, can share one configuration.
func (o *op) healthURL(r *Release) string {
	run := o.runOf(r)
	raw := run.Health.URL
	if !strings.Contains(raw, "${") {
		return raw
	}
	vars := map[string]string{}
	if run.EnvFile != "" {
		if fileVars, err := readEnvFile(filepath.Join(o.l.shared(), filepath.FromSlash(run.EnvFile))); err == nil {
			vars = fileVars
		}
	}
	for k, v := range run.Vars {
		vars[k] = v
	}
	return healthVar().ReplaceAllStringFunc(raw, func(m string) string { return vars[m[2:len(m)-1]] })
}
