package agent_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentImportsOnlyStdlibAndXSys keeps ferry-agent small and
// auditable: it runs on production servers, so it may depend on the
// standard library and golang.org/x/sys only, on every platform it ships for.
func TestAgentImportsOnlyStdlibAndXSys(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/ferryhq/ferry/cmd/ferry-agent")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list for %s: %v\n%s", goos, err, out)
		}
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "github.com/ferryhq/ferry/") || strings.HasPrefix(p, "golang.org/x/sys/") {
				continue
			}
			t.Errorf("ferry-agent for %s imports %s", goos, p)
		}
		if !strings.Contains(string(out), "github.com/ferryhq/ferry/internal/agent") {
			t.Fatalf("go list output does not look like ferry-agent's dependencies:\n%s", out)
		}
	}
}
