package gates

import (
	"strings"
	"testing"
)

// TestSmokeSrcLayoutAppFactory: a Flask-style app factory in a src layout,
// started by gunicorn. The smoke gate imports flaskr (found in src/),
// never gunicorn, and calls nothing: create_app() raises without the
// production configuration. The tests and linters find the package too.
func TestSmokeSrcLayoutAppFactory(t *testing.T) {
	t.Parallel()
	py := needEveryTool(t)
	cfg := only(GateTests, GateFlake8, GatePylint, GateBandit, GateSmoke)
	rep := mustRun(t, cfg, Options{AppDir: copyProject(t, "srclayout"), Python: py, Start: `gunicorn -w 2 "flaskr:create_app()"`})

	smoke := gateOf(t, rep, GateSmoke)
	wantStatus(t, smoke, StatusPassed)
	wantFigure(t, smoke, "modules", 1)
	if len(smoke.Tests) != 1 || smoke.Tests[0].Name != "import flaskr" {
		t.Errorf("smoke cases %+v, want the one import of flaskr", smoke.Tests)
	}
	tests := gateOf(t, rep, GateTests)
	wantStatus(t, tests, StatusPassed)
	wantFigure(t, tests, "passed", 1)
	pylint := gateOf(t, rep, GatePylint)
	wantStatus(t, pylint, StatusPassed)
	wantFigure(t, pylint, "modules", 2) // flaskr and flaskr.views
	bandit := gateOf(t, rep, GateBandit)
	wantStatus(t, bandit, StatusPassed)
	wantFigure(t, bandit, "files", 3)
	wantStatus(t, gateOf(t, rep, GateFlake8), StatusPassed)
}

// TestSmokeStartCommands runs the smoke gate alone on the src-layout app
// under start commands of every server: the app's module is imported, the
// object the command serves looked up, and a wrong one fails the gate.
func TestSmokeStartCommands(t *testing.T) {
	t.Parallel()
	py := testPython(t)
	for _, tc := range []struct {
		start  string
		status Status
		rule   string // the failure's finding
		msg    string
	}{
		{start: `gunicorn -w 2 "flaskr:create_app()"`, status: StatusPassed},
		{start: `python -m gunicorn --bind :8000 -w 2 'flaskr:create_app()'`, status: StatusPassed},
		{start: `waitress-serve --port=$PORT --call flaskr:create_app`, status: StatusPassed},
		{start: `flask --app flaskr run --port 8000`, status: StatusPassed},
		{start: `gunicorn -w 2 "flaskr:make_app()"`, status: StatusFailed, rule: "AttributeError", msg: "make_app"},
		{start: `uvicorn --factory flaskr:views`, status: StatusFailed, rule: "TypeError", msg: "not callable"},
		{start: `gunicorn flaskr.missing:app`, status: StatusFailed, rule: "ModuleNotFoundError", msg: "flaskr.missing"},
	} {
		t.Run(tc.start, func(t *testing.T) {
			t.Parallel()
			rep := mustRun(t, only(GateSmoke), Options{AppDir: copyProject(t, "srclayout"), Python: py, Start: tc.start})
			g := gateOf(t, rep, GateSmoke)
			wantStatus(t, g, tc.status)
			if len(g.Tests) != 1 || !strings.HasPrefix(g.Tests[0].Name, "import flaskr") {
				t.Errorf("smoke cases %+v, want one import of flaskr", g.Tests)
			}
			if tc.rule != "" {
				f, ok := findRule(g, tc.rule)
				if !ok {
					t.Fatalf("no %s finding in %+v", tc.rule, g.Findings)
				}
				wantContains(t, "finding", f.Message, tc.msg)
				if f.File != "" && !strings.HasPrefix(f.File, "src/") {
					t.Errorf("finding located at %s:%d, outside the app's code", f.File, f.Line)
				}
			}
		})
	}
}
