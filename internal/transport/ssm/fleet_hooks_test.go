package ssm

import (
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
)

// A fleet rollback of a deploy that had hooks is a valid rollback spec:
// rollbacks run no hooks, and the agent refuses hooks outside apply.
func TestFleetRollbackSpecDropsHooks(t *testing.T) {
	spec := agent.Spec{
		Protocol: agent.Protocol, Op: agent.OpApply, Root: "/srv/app", App: "app", Environment: "prod",
		SHA: "0123456789abcdef0123456789abcdef01234567", Source: agent.Source{Kind: "git", URL: "/srv/repo"},
		Start: []string{"python", "app.py"}, Python: "python3", Requirements: "requirements.txt",
		Health: agent.HealthSpec{URL: "http://127.0.0.1:8000/health", Status: 200, Deadline: time.Minute},
		Hooks:  &agent.Hooks{BeforeSwitch: [][]string{{"flask", "init-db"}}},
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := rollbackSpec(spec, "20260101T000000Z-0123456789ab").Validate(); err != nil {
		t.Fatalf("the fleet rollback's spec: %v", err)
	}
}
