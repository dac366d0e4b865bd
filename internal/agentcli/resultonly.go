package agentcli

import (
	"flag"

	"github.com/ferryhq/ferry/internal/agent"
)

// resultOnlyFlag registers --result-only on fs and returns the filter to
// put around the event emitter. Under SSM the step events are of no use:
// Run Command returns nothing until the command ends, and it cuts stdout
// at 24,000 bytes, which events would spend. With the flag, stdout holds
// the final result line alone.
func resultOnlyFlag(fs *flag.FlagSet) func(emit func(agent.Event)) func(agent.Event) {
	on := fs.Bool("result-only", false, "print only the final result line (for SSM, which returns output only when the command ends and cuts it at 24,000 bytes)")
	return func(emit func(agent.Event)) func(agent.Event) {
		if *on {
			return func(agent.Event) {}
		}
		return emit
	}
}
