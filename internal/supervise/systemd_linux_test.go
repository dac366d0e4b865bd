package supervise

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/golden"
)

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
	golden.Assert(t, "systemd.golden", u.render())
	env := renderEnvFile(map[string]string{"DATABASE_URL": `postgres://u:p@h/db?x="1"`, "PRICE": "$5 `cmd` \\n"})
	wantEnv := "# Written by ferry-agent: the app's configured and env-file variables.\n" +
		"DATABASE_URL=\"postgres://u:p@h/db?x=\\\"1\\\"\"\n" +
		"PRICE=\"\\$5 \\`cmd\\` \\\\n\"\n"
	if env != wantEnv {
		t.Fatalf("env file:\n%s\nwant:\n%s", env, wantEnv)
	}
}

// TestSystemdUnitFromSpec: the unit runs what process mode would, with
// ferry's variables in the open and the app's, which may be secret, only
// in the root-only file; ferry's own win over the app's.
func TestSystemdUnitFromSpec(t *testing.T) {
	bin := t.TempDir()
	gunicorn := filepath.Join(bin, "gunicorn")
	os.WriteFile(gunicorn, []byte("#!/bin/sh\n"), 0o755)
	target := Target{App: "billing", Environment: "prod", Service: "ferry-billing-prod"}
	spec := Spec{
		Process: proc.Spec{Argv: []string{"gunicorn", "app:app"}, Dir: "/srv/billing/releases/r1", Env: []string{"HOME=/root", "PATH=/nowhere:" + bin}, LogPath: "/srv/billing/shared/logs/app-r1.log"},
		Release: "r1", StopTimeout: 3 * time.Second,
		Own:  map[string]string{"FERRY_SHA": "abc", "PYTHONUNBUFFERED": "1"},
		Vars: map[string]string{"SECRET_KEY": "s3cr3t", "FERRY_SHA": "spoofed"},
	}
	u, vars, err := target.systemdUnit(spec, "/srv/billing/run/ferry-billing-prod.env")
	if err != nil {
		t.Fatal(err)
	}
	if u.Argv[0] != gunicorn || u.Dir != spec.Process.Dir || u.LogPath != spec.Process.LogPath || u.StopTimeout != 3*time.Second {
		t.Fatalf("unit %+v", u)
	}
	if u.Description != "ferry billing (prod) release r1" {
		t.Fatalf("description %q", u.Description)
	}
	if u.Env["FERRY_SHA"] != "abc" || u.Env["SECRET_KEY"] != "" || u.EnvFile == "" {
		t.Fatalf("unit environment %v, env file %q", u.Env, u.EnvFile)
	}
	if len(vars) != 1 || vars["SECRET_KEY"] != "s3cr3t" {
		t.Fatalf("env file variables %v: want the secret alone (ferry's FERRY_SHA wins)", vars)
	}
	if spec.Vars["FERRY_SHA"] != "spoofed" {
		t.Fatal("building the unit changed the spec's variables")
	}

	spec.Vars = nil
	if u, _, err := target.systemdUnit(spec, "/x.env"); err != nil || u.EnvFile != "" {
		t.Fatalf("no app variables: env file %q, %v", u.EnvFile, err)
	}
	spec.Process.Argv = []string{"uvicorn"}
	if _, _, err := target.systemdUnit(spec, "/x.env"); err == nil {
		t.Fatal("a program that is not on the app's PATH must be refused: systemd needs an absolute ExecStart")
	}
}
