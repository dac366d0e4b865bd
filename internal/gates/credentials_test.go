//go:build !windows

package gates

import (
	"testing"
)

// The deploying job's credentials never reach the gates' tools: a custom
// gate that fails when it sees one passes, while the job's other
// variables still arrive.
func TestGatesNeverSeeCredentials(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "deploy-role-secret")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "oidc")
	t.Setenv("FERRYTEST_VISIBLE", "yes")
	cfg := only()
	cfg.Custom = []CustomGate{{Name: "creds", Command: []string{"sh", "-c",
		`[ -z "${AWS_SECRET_ACCESS_KEY:-}" ] && [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ] && [ "$FERRYTEST_VISIBLE" = yes ]`}}}
	rep := mustRun(t, cfg.WithDefaults(), Options{AppDir: t.TempDir()})
	wantStatus(t, gateOf(t, rep, "creds"), StatusPassed)
}
