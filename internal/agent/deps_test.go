package agent_test

import (
	"os/exec"
	"slices"
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
		// The agent's own packages are in the list, so the rule above
		// holds for each of them too.
		deps := strings.Fields(string(out))
		for _, want := range []string{"agent", "agentcli", "supervise", "fslink", "proc", "health", "pyenv", "poll", "startcmd"} {
			if !slices.Contains(deps, "github.com/ferryhq/ferry/internal/"+want) {
				t.Errorf("ferry-agent for %s does not depend on internal/%s: the list is not the agent's\n%s", goos, want, out)
			}
		}
	}
}
