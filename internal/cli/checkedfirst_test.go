package cli_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/testing/faketransport"
	"github.com/ferryhq/ferry/internal/transport"
)

// ssmFakeConfig is fakeConfig with an ssm environment; bad replaces a
// line of it.
const ssmFakeConfig = fakeConfig + `  prod:
    target: ssm
    root: /srv/testapp
    ssm:
      region: eu-west-1
      bucket: testapp-artifacts
      instance_ids: [i-0123456789abcdef0]
      rollout: {max_concurrency: "10%", max_errors: "0"}
`

// What the agent, SSM or S3 would refuse is refused before any transport
// exists, with ferry.yml:LINE:COL and a hint: no remote call is made.
func TestInputIsCheckedBeforeAnythingIsSent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, old, new string
		args           []string
		want           string
	}{
		{"bucket", "bucket: testapp-artifacts", "bucket: testapp..artifacts", []string{"deploy", "prod"}, "ferry.yml:26:15: ssm.bucket \"testapp..artifacts\" must not contain two adjacent periods"},
		{"region", "region: eu-west-1", "region: eu-west", []string{"status", "prod"}, "ferry.yml:25:15: ssm.region \"eu-west\" is not a Region code"},
		{"rate", `max_concurrency: "10%"`, `max_concurrency: "0%"`, []string{"rollback", "prod"}, "ferry.yml:28:34: max_concurrency \"0%\" is not valid"},
		{"root", "root: /srv/testapp", "root: 'C:\\Apps\\nul'", []string{"releases", "prod"}, "is a Windows device name"},
		{"lock wait", "", "", []string{"deploy", "prod", "--lock-wait", "25h"}, "--lock-wait 25h0m0s is out of range"},
		{"to", "", "", []string{"rollback", "prod", "--to", "$(id)"}, `--to "$(id)" is not a SHA prefix or release ID`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, _ := fakeProject(t, strings.Replace(ssmFakeConfig, c.old, c.new, 1))
			made := false
			r := ferryWith(t, dir, nil, func(f *cli.Factory) {
				f.Transport = func(cli.Target) (transport.Transport, error) {
					made = true
					return &faketransport.Transport{Err: errors.New("the fake transport was reached")}, nil
				}
			}, append(c.args, "--json")...)
			if r.code != 2 || !strings.Contains(r.err, c.want) || !strings.Contains(r.err, "hint: ") {
				t.Fatalf("want exit 2 with %q and a hint: %s", c.want, r)
			}
			if made {
				t.Error("a transport was made: something could have been sent")
			}
			checkEnvelope(t, c.args[0], r)
		})
	}
}
