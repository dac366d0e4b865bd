package cli

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// What ferry repair prints for each kind of report the agent gives.
func TestPrintRepair(t *testing.T) {
	t.Parallel()
	ok := agent.Result{Op: opRepair, Outcome: agent.OutcomeOK, Warnings: []string{"the lock of a dead deploy was taken over"}}
	for _, c := range []struct {
		name string
		res  agent.Result
		rep  *repairReport
		want string
	}{
		{"sound", ok, &repairReport{State: "ok", Releases: 3, Current: "20260102T030405Z-fa4efa4efa4e"},
			"i-0a: state.json was sound; 3 releases, current 20260102T030405Z-fa4efa4efa4e\n  nothing needed repair\n  warning: the lock of a dead deploy was taken over\n"},
		{"restored", ok, &repairReport{State: "restored", Reason: "unexpected end of JSON input", Damaged: "state.json.damaged-20260102T030405Z", Releases: 2, Current: "r2",
			Actions: []string{"removed releases/r3.partial"}},
			"i-0a: state.json was damaged (unexpected end of JSON input): restored from its last good copy; 2 releases, current r2\n  the damaged file is kept as state.json.damaged-20260102T030405Z\n  removed releases/r3.partial\n"},
		{"rebuilt with nothing current", ok, &repairReport{State: "rebuilt", Reason: "invalid character", Releases: 1},
			"i-0a: state.json and its last good copy were damaged (invalid character): rebuilt from the releases on disk; 1 releases, nothing current\n"},
		{"an agent without a report", ok, nil, "i-0a: repaired\n"},
		{"failed", agent.Result{Op: opRepair, Outcome: agent.OutcomeLocked, ExitCode: 5}, nil, "i-0a: not repaired (locked)\n"},
	} {
		var b strings.Builder
		printRepair(&b, "i-0a", c.res, c.rep)
		if got := b.String(); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
