//go:build linux

package agent_test

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/agent"
)

// The doctor op's Windows checks, run by the Windows agent under Wine:
// free disk through GetDiskFreeSpaceEx, the account, LongPathsEnabled
// read from the registry (Wine's prefix does not set it: the check must
// fail and say how to set it), and 64-bit PowerShell, which a 64-bit
// process under wine64 is. What Wine cannot show: a 32-bit PowerShell
// starting the agent (Wine sets the PROCESSOR_* variables itself, so
// WOW64's PROCESSOR_ARCHITEW6432 cannot be handed in: TestDoctorOp
// checks that decision alone), a service account other than the Wine
// user, and NTFS ACLs on the root.
func TestWineDoctor(t *testing.T) {
	s := newWineSite(t, `Apps\Doctor`)
	spec := s.spec(agent.OpDoctor, "")
	spec.SHA, spec.Source = "", agent.Source{}
	r := s.run(spec)
	if r.result == nil {
		t.Fatalf("no result (exit %d): %s", r.code, r.stderr)
	}
	checks := map[string]agent.Check{}
	for _, c := range r.result.Doctor {
		checks[c.Name] = c
	}
	for _, n := range []string{"agent", "root", "python", "disk", "account", "powershell"} {
		if c, ok := checks[n]; !ok || !c.OK {
			t.Errorf("check %s under Wine: %+v (all: %+v)", n, c, r.result.Doctor)
		}
	}
	if c := checks["agent"]; !strings.Contains(c.Detail, "windows/amd64") {
		t.Errorf("agent check: %+v", c)
	}
	lp, ok := checks["long paths"]
	if !ok || lp.OK || !strings.Contains(lp.Fix, "LongPathsEnabled") {
		t.Errorf("long paths under Wine (not enabled there): %+v", lp)
	}
	if r.code != 1 || !strings.Contains(r.result.Error, "long paths") {
		t.Errorf("a failed check fails the op: exit %d, %q", r.code, r.result.Error)
	}

}
