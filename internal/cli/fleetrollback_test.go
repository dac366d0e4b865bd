package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
)

// fleetKeeps answers the releases op as three servers of a fleet whose
// deploy of c failed on i-0b: i-0a and i-0c serve c, i-0b serves b again
// and keeps c as bad; all keep b healthy. Every other op succeeds, and
// a rollback --to a release the server serves is a success there.
func fleetKeeps(pruneB bool) *faketransport.Transport {
	rel := func(sha string, hour int, status string) agent.Release {
		full := strings.Repeat(sha, 40)
		return agent.Release{ID: "2026010" + sha + "-" + full[:12], SHA: full, Created: faketransport.Created.Add(time.Duration(hour) * time.Hour), Status: status}
	}
	a, b, c := rel("a", 1, "healthy"), rel("b", 2, "healthy"), rel("c", 3, "healthy")
	badC := c
	badC.Status = "bad"
	prunedB := b
	prunedB.Pruned = pruneB
	return &faketransport.Transport{Targets: []string{"i-0a", "i-0b", "i-0c"}, Answer: func(target string, spec agent.Spec) agent.Result {
		res := faketransport.Result(spec, faketransport.Success(spec.Op))
		if spec.Op == agent.OpReleases {
			switch target {
			case "i-0b":
				res.Release, res.Releases = b.ID, []agent.Release{b, badC, a}
			case "i-0c":
				res.Release, res.Releases = c.ID, []agent.Release{c, prunedB, a}
			default:
				res.Release, res.Releases = c.ID, []agent.Release{c, b, a}
			}
		}
		return res
	}}
}

// Item 7b of the hardening issue: ferry rollback ENV on a fleet brings
// every server to one release, chosen from what each one keeps.
func TestFleetRollbackBringsEveryServerToOneRelease(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, ssmFakeConfig)
	fake := fleetKeeps(false)
	r := ferryWith(t, dir, nil, withFake(fake), "rollback", "prod", "--json")
	if r.code != 0 {
		t.Fatalf("rollback: %s", r)
	}
	specs := fake.Specs()
	if len(specs) != 2 || specs[0].Op != agent.OpReleases || specs[1].Op != agent.OpRollback || specs[1].To != strings.Repeat("b", 40) {
		t.Fatalf("specs sent: %+v; want releases, then rollback --to bbbb… to every server", specs)
	}
	mustContain(t, r, "stderr", "Every server of prod keeps bbbbbbbbbbbb healthy, the newest release before cccccccccccc: rolling all 3 to it")
	var res struct {
		Steps []struct{ Name, Status string } `json:"steps"`
	}
	if err := json.Unmarshal(checkEnvelope(t, "rollback", r), &res); err != nil || len(res.Steps) != 8 || res.Steps[2].Name != "choose" || res.Steps[2].Status != "ok" {
		t.Errorf("steps: %+v %v", res.Steps, err)
	}

	// --to chooses itself; a local target leaves the choice to its agent.
	fake = fleetKeeps(false)
	if r := ferryWith(t, dir, nil, withFake(fake), "rollback", "prod", "--to", "aaaaaaaa"); r.code != 0 || len(fake.Specs()) != 1 || fake.Specs()[0].To != "aaaaaaaa" {
		t.Fatalf("rollback --to: %s\n%+v", r, fake.Specs())
	}
	fake = fleetKeeps(false)
	if r := ferryWith(t, dir, nil, withFake(fake), "rollback", "test"); r.code != 0 || len(fake.Specs()) != 1 || fake.Specs()[0].To != "" {
		t.Fatalf("local rollback: %s\n%+v", r, fake.Specs())
	}
}

// When no release is kept healthy on every server, nothing is sent but
// the question, and the error says what to do.
func TestFleetRollbackRefusesWithoutACommonRelease(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, ssmFakeConfig)
	fake := fleetKeeps(true) // i-0c pruned b; a is older than b everywhere, so a is chosen
	r := ferryWith(t, dir, nil, withFake(fake), "rollback", "prod")
	if specs := fake.Specs(); r.code != 0 || len(specs) != 2 || specs[1].To != strings.Repeat("a", 40) {
		t.Fatalf("with b pruned on one server, a is the common release: %s\n%+v", r, fake.Specs())
	}
	only := &faketransport.Transport{Targets: []string{"i-0a", "i-0b"}}
	r = ferryWith(t, dir, nil, withFake(only), "rollback", "prod", "--json")
	if r.code != 1 || !strings.Contains(r.err, "error: rollback: no release older than fa4efa4efa4e (serving) is kept healthy on every server") ||
		!strings.Contains(r.err, "hint: ferry rollback prod --to SHA") || !strings.Contains(r.err, "hint: ferry releases prod lists") {
		t.Fatalf("want a refusal with hints: %s", r)
	}
	if specs := only.Specs(); len(specs) != 1 || specs[0].Op != agent.OpReleases {
		t.Errorf("something was sent besides the question: %+v", specs)
	}
	checkEnvelope(t, "rollback", r)
}
