package gates

import (
	"archive/zip"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

func TestParseRequirements(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("testdata", "audit"))
	reqs, err := parseRequirementsFile(dir, filepath.Join(dir, "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		key, version string
		pinned       bool
		file         string
		line         int
	}
	want := []row{
		{"markupsafe", "2.1.3", true, "base.txt", 2}, // -r include, first; its -r back is a cycle
		{"zope-interface", "6.0+local.build", true, "base.txt", 3},
		{"jinja2", "2.10", true, "requirements.txt", 4}, // continuation line with --hash
		{"gunicorn", "21.2.0", true, "requirements.txt", 6},
		{"flask-login", "0.6.2", true, "requirements.txt", 7},
		{"django", "4.2rc1", true, "requirements.txt", 8},
		{"oldpkg", "1.1", true, "requirements.txt", 9}, // === is a pin too
		{"epochpkg", "1!1.2", true, "requirements.txt", 10},
		{"requests", "", false, "requirements.txt", 11},
		{"./vendored/lib", "", false, "requirements.txt", 13},
	}
	if len(reqs) != len(want) {
		for _, r := range reqs {
			t.Logf("%+v", r)
		}
		t.Fatalf("got %d requirements, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		if r.Key != w.key || r.Version != w.version || r.Pinned != w.pinned || r.File != w.file || r.Line != w.line {
			t.Errorf("requirement %d = {%s %s %v %s:%d}, want %+v", i, r.Key, r.Version, r.Pinned, r.File, r.Line, w)
		}
	}
	if g := reqs[3]; strings.Join(g.Extras, ",") != "gevent" || g.Marker != `python_version >= "3.8"` {
		t.Errorf("gunicorn extras %v marker %q", g.Extras, g.Marker)
	}
	if reqs[8].Why != "not pinned, cannot audit" || reqs[8].Spec != ">=2.31" {
		t.Errorf("requests: %+v", reqs[8])
	}
	if !strings.Contains(reqs[9].Why, "editable") {
		t.Errorf("editable: %+v", reqs[9])
	}
}

func TestParseRequirementLines(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("sub/more.txt", "pkg-c==3.0\n")
	main := write("reqs.txt", "\ufeffpkg-a==1.0\r\n"+
		"pkg-b (==2.0)\n"+ // parenthesised specifier
		"pkg-d==1.*\n"+ // wildcard: not a pin
		"pkg-e==1.0,<2\n"+ // two clauses: not a pin
		"pkg-f @ https://example.invalid/f.whl\n"+
		"https://example.invalid/g.tar.gz#egg=g\n"+
		"--requirement=sub/more.txt\n"+
		"-c constraints.txt\n"+
		"pkg-h[a, b]==0.1;sys_platform=='linux' # trailing comment\n")
	reqs, err := parseRequirementsFile(dir, main)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]requirement{}
	for _, r := range reqs {
		got[r.Key] = r
	}
	checks := []struct {
		key     string
		pinned  bool
		version string
	}{{"pkg-a", true, "1.0"}, {"pkg-b", true, "2.0"}, {"pkg-c", true, "3.0"}, {"pkg-d", false, ""},
		{"pkg-e", false, ""}, {"pkg-f", false, ""}, {"pkg-h", true, "0.1"}}
	for _, c := range checks {
		r, ok := got[c.key]
		if !ok || r.Pinned != c.pinned || r.Version != c.version {
			t.Errorf("%s: %+v, want pinned=%v version=%q", c.key, r, c.pinned, c.version)
		}
	}
	if r := got["pkg-c"]; r.File != "sub/more.txt" || r.Line != 1 {
		t.Errorf("include location: %s:%d", r.File, r.Line)
	}
	if r := got["pkg-h"]; strings.Join(r.Extras, ",") != "a,b" || r.Marker != "sys_platform=='linux'" {
		t.Errorf("pkg-h: %+v", r)
	}
	if len(reqs) != 8 {
		t.Errorf("got %d requirements, want 8 (the URL line counts, the -c line does not)", len(reqs))
	}
	if _, err := parseRequirementsFile(dir, write("bad.txt", "-r missing.txt\n")); err == nil || !strings.Contains(err.Error(), "bad.txt:1") {
		t.Errorf("a missing include must name the line: %v", err)
	}
}

func zipDir(t *testing.T, src string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := zw.Create(filepath.Base(p)) // osv.dev's zips are flat
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// auditApp is an app of its own holding testdata/audit's requirements.
func auditApp(t *testing.T) string {
	t.Helper()
	app := t.TempDir()
	for _, name := range []string{"requirements.txt", "base.txt"} {
		if err := os.WriteFile(filepath.Join(app, name), mustRead(t, filepath.Join("testdata", "audit", name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

func TestOfflineAudit(t *testing.T) {
	dbs := map[string]string{"directory": osvDir(t), "zip": zipDir(t, osvDir(t))}
	for kind, db := range dbs {
		t.Run(kind, func(t *testing.T) {
			cfg := only(GateAudit)
			cfg.Audit.OSVDB = db
			rep := mustRun(t, cfg, Options{AppDir: auditApp(t), Python: "/nonexistent/python"})
			g := gateOf(t, rep, GateAudit)
			wantStatus(t, g, StatusFailed)
			wantFigure(t, g, "dependencies", 10)
			wantFigure(t, g, "audited", 8)
			wantFigure(t, g, "not_audited", 2)
			wantFigure(t, g, "vulnerable", 6)
			wantFigure(t, g, "vulnerabilities", 6)
			wantFigure(t, g, "advisories_read", 8)
			wantContains(t, "summary", g.Summary, "6 vulnerabilities in 6 of 8 dependencies · 2 not audited")

			byName := map[string]AuditDependency{}
			for _, d := range g.Audit {
				byName[d.Name] = d
			}
			want := map[string]struct {
				id, fixes, aliases string
			}{
				"jinja2":      {"PYSEC-2019-217", "2.10.1", "CVE-2019-10906,GHSA-462w-v97r-4m45"},
				"gunicorn":    {"GHSA-w3h3-4rj7-4ph4", "22.0.0", "CVE-2024-1135"},
				"flask-login": {"FERRY-TEST-0001", "", "CVE-0000-0001"}, // last_affected is inclusive
				"django":      {"FERRY-TEST-0003", "4.2", ""},           // 4.2rc1 lies in [4.2a1, 4.2)
				"oldpkg":      {"FERRY-TEST-0002", "", ""},              // versions list only
				"epochpkg":    {"FERRY-TEST-0006", "1!1.5", "CVE-0000-0006"},
			}
			for name, w := range want {
				d := byName[name]
				if len(d.Vulns) != 1 {
					t.Errorf("%s: vulns %+v, want one", name, d.Vulns)
					continue
				}
				v := d.Vulns[0]
				if v.ID != w.id || strings.Join(v.FixVersions, ",") != w.fixes || strings.Join(v.Aliases, ",") != w.aliases {
					t.Errorf("%s: %+v, want %+v", name, v, w)
				}
			}
			// markupsafe 2.1.3 is past the fix; zope.interface has no
			// advisory; withdrawn and npm records never match.
			for _, name := range []string{"markupsafe", "zope-interface"} {
				if d := byName[name]; len(d.Vulns) != 0 || d.SkipReason != "" {
					t.Errorf("%s should be audited clean: %+v", name, d)
				}
			}
			if d := byName["requests"]; d.SkipReason != "not pinned, cannot audit" {
				t.Errorf("requests: %+v", d)
			}
			if byName["oldpkg"].Vulns[0].Description != "Test advisory: affected versions listed explicitly, no ranges." {
				t.Errorf("description falls back to the first paragraph of details: %q", byName["oldpkg"].Vulns[0].Description)
			}
			f, ok := findRule(g, "PYSEC-2019-217")
			if !ok || f.File != "requirements.txt" || f.Line != 4 {
				t.Errorf("finding should point at the requirement line: %+v", f)
			}
			wantContains(t, "finding", f.Message, "(CVE-2019-10906, GHSA-462w-v97r-4m45); fixed in 2.10.1")
		})
	}

	// Every advisory accepted as a known risk: the audit passes unless
	// require_pins makes the two unpinned requirements fail it.
	for _, requirePins := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore all, require_pins %v", requirePins), func(t *testing.T) {
			cfg := only(GateAudit)
			cfg.Audit.OSVDB = dbs["zip"]
			cfg.Audit.Ignore = []string{"CVE-2019-10906", "GHSA-w3h3-4rj7-4ph4", "FERRY-TEST-0001", "FERRY-TEST-0002", "FERRY-TEST-0003", "cve-0000-0006"}
			cfg.Audit.RequirePins = requirePins
			g := gateOf(t, mustRun(t, cfg, Options{AppDir: auditApp(t)}), GateAudit)
			if !requirePins {
				wantStatus(t, g, StatusPassed)
				wantFigure(t, g, "vulnerabilities", 0)
				return
			}
			wantStatus(t, g, StatusFailed)
			wantContains(t, "hint", g.Hint, "pin every requirement")
		})
	}
}

func TestOSVRanges(t *testing.T) {
	ev := func(pairs ...string) []map[string]string {
		var out []map[string]string
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, map[string]string{pairs[i]: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		version string
		events  []map[string]string
		want    bool
		fixes   string
	}{
		{"1.0", ev("introduced", "0", "fixed", "2.0"), true, "2.0"},
		{"2.0", ev("introduced", "0", "fixed", "2.0"), false, ""},
		{"2.0rc1", ev("introduced", "0", "fixed", "2.0"), true, "2.0"},
		{"2.0.post1", ev("introduced", "0", "fixed", "2.0"), false, ""},
		{"0.9", ev("introduced", "1.0", "fixed", "2.0"), false, ""},
		{"1.5", ev("introduced", "1.0", "last_affected", "1.5"), true, ""},
		{"1.5.1", ev("introduced", "1.0", "last_affected", "1.5"), false, ""},
		{"1.0", ev("introduced", "1.0"), true, ""},
		// Two intervals in one range, listed out of order.
		{"3.1", ev("introduced", "3.0", "fixed", "3.2", "introduced", "1.0", "fixed", "1.4"), true, "3.2"},
		{"2.0", ev("introduced", "3.0", "fixed", "3.2", "introduced", "1.0", "fixed", "1.4"), false, ""},
		{"1.3", ev("introduced", "3.0", "fixed", "3.2", "introduced", "1.0", "fixed", "1.4"), true, "1.4"},
		// Local versions are ignored: 2.0+deb1 is 2.0, which is fixed.
		{"2.0+deb1", ev("introduced", "0", "fixed", "2.0"), false, ""},
		// Epochs: 1!0.5 is after every epoch-0 version.
		{"1!0.5", ev("introduced", "0", "fixed", "99.0"), false, ""},
	} {
		v, err := parsePEP440(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		got, fixes := inRange(v, tc.events)
		if got != tc.want || strings.Join(versionStrings(fixes), ",") != tc.fixes {
			t.Errorf("%s in %v = %v (fixes %v), want %v (fixes %s)", tc.version, tc.events, got, versionStrings(fixes), tc.want, tc.fixes)
		}
	}
}

func TestPipAuditReport(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "fixtures", "pip-audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	deps, err := parsePipAudit(data)
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	applyAudit(&r, deps, nil, "requirements.txt", false)
	wantStatus(t, Result{Name: "audit", Status: r.Status}, StatusFailed)
	wantFigure(t, r, "dependencies", 4)
	wantFigure(t, r, "audited", 3)
	wantFigure(t, r, "vulnerable", 1)
	wantFigure(t, r, "vulnerabilities", 2)
	wantFigure(t, r, "not_audited", 1)
	if r.Audit[0].Vulns[0].FixVersions[0] != "2.10.1" || r.Audit[0].Vulns[1].Aliases[0] != "CVE-2019-8341" {
		t.Errorf("audit: %+v", r.Audit[0])
	}
	if !strings.Contains(r.Audit[3].SkipReason, "not found on PyPI") {
		t.Errorf("skip reason lost: %+v", r.Audit[3])
	}
	// Older pip-audit wrote the dependency list alone.
	old, err := parsePipAudit([]byte(`[{"name": "jinja2", "version": "2.10", "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"]}]}]`))
	if err != nil || len(old) != 1 || old[0].Vulns[0].Aliases == nil {
		t.Errorf("list form: %+v, %v", old, err)
	}
	if _, err := parsePipAudit([]byte("Traceback (most recent call last):\n  ...\nConnectionError")); err == nil {
		t.Error("a crash is not a report")
	}
}

func TestSafetyReport(t *testing.T) {
	for _, tc := range []struct {
		file             string
		deps, vulns, pkg int
		aliases          string
	}{
		{"safety-2.json", 3, 2, 1, "CVE-2019-10906"},
		{"safety-1.json", 0, 2, 2, "CVE-2024-1135"}, // sorted: gunicorn first
	} {
		data, err := os.ReadFile(filepath.Join("testdata", "fixtures", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		// safety may print a banner before the document.
		data = append([]byte("+====+\n| DEPRECATED: this command |\n+====+\n"), data...)
		deps, total, err := parseSafety(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if total != tc.deps || len(deps) != tc.pkg {
			t.Errorf("%s: %d packages scanned, %d vulnerable; want %d, %d", tc.file, total, len(deps), tc.deps, tc.pkg)
		}
		n := 0
		for _, d := range deps {
			n += len(d.Vulns)
		}
		if n != tc.vulns {
			t.Errorf("%s: %d vulnerabilities, want %d", tc.file, n, tc.vulns)
		}
		if got := strings.Join(deps[0].Vulns[0].Aliases, ","); got != tc.aliases {
			t.Errorf("%s: aliases %q, want %q", tc.file, got, tc.aliases)
		}
	}
	deps, _, _ := parseSafety(mustRead(t, "testdata/fixtures/safety-2.json"))
	if deps[0].Name != "jinja2" || deps[0].Vulns[0].ID != "37057" || deps[0].Vulns[0].FixVersions[0] != "2.10.1" {
		t.Errorf("safety 2 shape: %+v", deps[0])
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPylintJSON2(t *testing.T) {
	rep, err := parsePylintJSON2(mustRead(t, "testdata/fixtures/pylint-json2.json"), "/srv/app")
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	applyPylint(&r, rep, 8)
	wantStatus(t, Result{Name: "pylint", Status: r.Status}, StatusFailed)
	wantFigure(t, r, "score", 7.5)
	wantFigure(t, r, "error", 1)
	f, _ := findRule(r, "E0602")
	if f.File != "views.py" || f.Line != 12 || f.Column != 12 || f.Level != "error" || f.RuleName != "undefined-variable" {
		t.Errorf("finding: %+v", f)
	}
	wantContains(t, "summary", r.Summary, "score 7.50/10 (min 8.00)")
}

// TestMissingTools runs with an empty PATH and an interpreter that has no
// tools: neither beside it nor importable (a bare virtualenv, without
// system site-packages, so `python -m flake8` is no way out either). Each
// gate says what is missing and how to get it, and only blocking ones
// fail the run.
func TestMissingTools(t *testing.T) {
	emptyPath := t.TempDir()
	venv := filepath.Join(t.TempDir(), "bare")
	if out, err := exec.Command(testPython(t), "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		testtool.Missing(t, "python3 -m venv ("+strings.TrimSpace(string(out))+")")
	}
	py := filepath.Join(venv, venvBinDir, pythonNames[0])
	run := func(t *testing.T, cfg Config) *Report {
		return mustRun(t, cfg, Options{AppDir: copyProject(t, "hello"), Python: py,
			Env: map[string]string{"PATH": emptyPath}})
	}
	t.Run("defaults", func(t *testing.T) {
		rep := run(t, only(GateAudit, GateSafety, GateFlake8, GatePylint, GateBandit))
		audit := gateOf(t, rep, GateAudit)
		wantStatus(t, audit, StatusMissing)
		if audit.Summary+" — hint: "+audit.Hint != "pip-audit is not installed — hint: pip install pip-audit into the app's virtualenv, or set gates.audit.osv_db for the offline audit" {
			t.Errorf("audit: %q / %q", audit.Summary, audit.Hint)
		}
		for _, name := range []string{GateSafety, GateFlake8, GatePylint, GateBandit} {
			g := gateOf(t, rep, name)
			wantStatus(t, g, StatusMissing)
			wantContains(t, name+" hint", g.Hint, "pip install "+name)
		}
		if rep.Passed {
			t.Error("missing blocking tools (audit, flake8) must fail the run")
		}
		if got := strings.Join(rep.BlockingFailures(), ","); got != "audit,flake8" {
			t.Errorf("blocking failures %s, want audit,flake8", got)
		}
	})
	t.Run("non-blocking", func(t *testing.T) {
		// Made non-blocking, the same missing tools only inform.
		cfg := only(GateAudit, GateSafety, GateFlake8, GatePylint, GateBandit)
		cfg.Audit.Blocking = boolPtr(false)
		cfg.Flake8.Blocking = boolPtr(false)
		if rep := run(t, cfg); !rep.Passed {
			t.Errorf("missing non-blocking tools failed the run: %v", rep.BlockingFailures())
		}
	})
}
