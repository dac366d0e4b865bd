package agent

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/service_systemd.golden")

// TestSystemdUnitGolden pins the unit file byte for byte, with the values
// that need escaping: a "%" (a systemd specifier), a "$" in ExecStart (a
// variable), quotes, backslashes and spaces in words.
func TestSystemdUnitGolden(t *testing.T) {
	u := systemdUnit{
		Description: "ferry billing (prod) release 20260101T000000Z-0123456789ab",
		Argv: []string{"/srv/billing/venvs/k1/bin/python", "-m", "gunicorn", "--bind", "127.0.0.1:8000",
			"--access-logformat", `%(h)s "%(r)s"`, "app:create_app()", "$HOME", `back\slash`, "two words"},
		Dir: "/srv/billing/releases/20260101T000000Z-0123456789ab",
		Env: map[string]string{
			"FERRY_SHA": "0123456789abcdef0123456789abcdef01234567", "FERRY_RELEASE": "20260101T000000Z-0123456789ab",
			"FERRY_ENVIRONMENT": "prod", "PYTHONUNBUFFERED": "1", "VIRTUAL_ENV": "/srv/billing/venvs/k1",
			"PATH": "/srv/billing/venvs/k1/bin:/usr/bin:/bin",
		},
		EnvFile:     "/srv/billing/run/ferry-billing-prod.env",
		LogPath:     "/srv/billing/shared/logs/app-20260101T000000Z-0123456789ab.log",
		StopTimeout: 12500 * time.Millisecond,
	}
	got := u.render()
	golden := filepath.Join("testdata", "service_systemd.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("unit differs from %s:\n%s", golden, got)
	}
	env := renderEnvFile(map[string]string{"DATABASE_URL": `postgres://u:p@h/db?x="1"`, "PRICE": "$5 `cmd` \\n"})
	wantEnv := "# Written by ferry-agent: the app's configured and env-file variables.\n" +
		"DATABASE_URL=\"postgres://u:p@h/db?x=\\\"1\\\"\"\n" +
		"PRICE=\"\\$5 \\`cmd\\` \\\\n\"\n"
	if env != wantEnv {
		t.Fatalf("env file:\n%s\nwant:\n%s", env, wantEnv)
	}
}
