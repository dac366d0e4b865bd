package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ferryhq/ferry/internal/ansi"
	"github.com/ferryhq/ferry/internal/transport"
	"github.com/ferryhq/ferry/internal/version"
)

// warnAgentVersions warns when servers ran a ferry-agent of another
// version than this ferry: ferry ships its own agents, so a difference
// means the agents it found (FERRY_AGENT_DIR, agents/ beside it) are of
// another release. Only a release or go-installed ferry has a version
// worth comparing: a checkout's agents are labelled by their sources.
func warnAgentVersions(c Common, results []transport.TargetResult) {
	own := version.Get()
	if own.Source != version.SourceRelease && own.Source != version.SourceModule {
		return
	}
	others := map[string][]string{}
	for _, r := range results {
		if v := r.Result.AgentVersion; v != "" && v != own.Version {
			others[v] = append(others[v], r.Target)
		}
	}
	var vs []string
	for v := range others {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	for _, v := range vs {
		fmt.Fprintf(c.Err, "%s %s ran ferry-agent %s, not this ferry's %s: the agents ferry found are of another release (check FERRY_AGENT_DIR, or the agents/ directory beside ferry)\n",
			c.painter().Paint(ansi.Yellow, "warning:"), strings.Join(others[v], ", "), v, own.Version)
	}
}
