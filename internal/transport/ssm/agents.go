package ssm

import "context"

// AgentSource supplies the ferry-agent binaries that servers run. ferry
// itself never runs them: it uploads them, and each server picks the one
// for its architecture. internal/agentbin's Resolver is the one ferry
// uses (beside the executable, FERRY_AGENT_DIR, a checkout, or built for
// a go-installed module); the transport asks only for the platforms its
// preflight found.
type AgentSource interface {
	// Agent returns the path of ferry-agent built for goos and goarch.
	Agent(ctx context.Context, goos, goarch string) (string, error)
}
