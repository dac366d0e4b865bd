// Package transport carries an agent spec to the servers of an
// environment and brings back one agent result per server. The local
// transport runs the agent in-process on a directory of this machine;
// the ssm transport runs ferry-agent on EC2 instances through SSM.
package transport

import (
	"context"

	"github.com/ferryhq/ferry/internal/agent"
)

// TargetResult is one server's answer.
type TargetResult struct {
	Target string       `json:"target"`
	Result agent.Result `json:"result"`
}

// Progress receives each server's agent events as they are known.
type Progress func(target string, ev agent.Event)

// Transport runs one spec on every server of an environment.
type Transport interface {
	Run(ctx context.Context, spec agent.Spec, progress Progress) ([]TargetResult, error)
}

// Local runs the agent in this process on a directory of this machine:
// the embedded default, and the same engine the servers run.
type Local struct {
	// Fault is passed to the agent for crash tests.
	Fault string
}

// Run implements Transport.
func (l Local) Run(ctx context.Context, spec agent.Spec, progress Progress) ([]TargetResult, error) {
	emit := func(ev agent.Event) {
		if progress != nil {
			progress("local", ev)
		}
	}
	res := agent.Run(ctx, spec, agent.Options{Emit: emit, Fault: l.Fault})
	return []TargetResult{{Target: "local", Result: res}}, nil
}
