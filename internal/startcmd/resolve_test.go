package startcmd

import (
	"reflect"
	"strings"
	"testing"
)

// TestResolve runs each start command as people write it on both
// platforms' venv layouts: the program becomes the release venv's own.
func TestResolve(t *testing.T) {
	has := func(files ...string) func(string) bool {
		return func(p string) bool {
			for _, f := range files {
				if p == f {
					return true
				}
			}
			return false
		}
	}
	linux := Venv{Dir: "/srv/app/venvs/k", Exists: has("/srv/app/venvs/k/bin/gunicorn", "/srv/app/venvs/k/bin/waitress-serve",
		"/srv/app/venvs/k/bin/uvicorn", "/srv/app/venvs/k/bin/flask")}
	win := Venv{Dir: `C:\Apps\app\venvs\k`, Windows: true, Exists: has(`C:\Apps\app\venvs\k\Scripts\waitress-serve.exe`,
		`C:\Apps\app\venvs\k\Scripts\flask.exe`, `C:\Apps\app\venvs\k\Scripts\gunicorn.exe`)}
	for _, tc := range []struct {
		v    Venv
		in   string
		want string
	}{
		{linux, `waitress-serve --port=8000 app:app`, `/srv/app/venvs/k/bin/waitress-serve|--port=8000|app:app`},
		{linux, `python -m waitress --port 8000 app:app`, `/srv/app/venvs/k/bin/python|-m|waitress|--port|8000|app:app`},
		{linux, `gunicorn -w 2 'flaskr:create_app()'`, `/srv/app/venvs/k/bin/gunicorn|-w|2|flaskr:create_app()`},
		{linux, `uvicorn app:app`, `/srv/app/venvs/k/bin/uvicorn|app:app`},
		{linux, `flask --app flaskr run`, `/srv/app/venvs/k/bin/flask|--app|flaskr|run`},
		{linux, `python app.py`, `/srv/app/venvs/k/bin/python|app.py`},
		{linux, `python3.11 app.py`, `/srv/app/venvs/k/bin/python|app.py`},
		{linux, `pythonw.exe app.py`, `/srv/app/venvs/k/bin/python|app.py`},
		{linux, `hypercorn app:app`, `hypercorn|app:app`}, // not in the venv: as given
		{linux, `./run.sh`, `./run.sh`},
		{win, `pythonw.exe app.py`, `C:\Apps\app\venvs\k\Scripts\pythonw.exe|app.py`},
		{win, `python.exe -m waitress app:app`, `C:\Apps\app\venvs\k\Scripts\python.exe|-m|waitress|app:app`},
		{win, `waitress-serve --port=8000 app:app`, `C:\Apps\app\venvs\k\Scripts\waitress-serve.exe|--port=8000|app:app`},
		{win, `waitress-serve.exe app:app`, `C:\Apps\app\venvs\k\Scripts\waitress-serve.exe|app:app`},
		{win, `flask --app flaskr run`, `C:\Apps\app\venvs\k\Scripts\flask.exe|--app|flaskr|run`},
		{win, `py -3.12 app.py`, `C:\Apps\app\venvs\k\Scripts\python.exe|app.py`},
		{win, `C:\tools\app.exe --serve`, `C:\tools\app.exe|--serve`},
		{Venv{}, `gunicorn app:app`, `gunicorn|app:app`}, // python: none
	} {
		words, err := Words(tc.in)
		if err != nil {
			t.Fatalf("Words(%q): %v", tc.in, err)
		}
		if got := strings.Join(Resolve(words, tc.v), "|"); got != tc.want {
			t.Errorf("Resolve(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestWordsAndExpand(t *testing.T) {
	env := map[string]string{"PORT": "9000", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for in, want := range map[string]string{
		`waitress-serve --port=$PORT app:app`:     `waitress-serve|--port=9000|app:app`,
		`gunicorn -b "127.0.0.1:${PORT}" app:app`: `gunicorn|-b|127.0.0.1:9000|app:app`,
		`gunicorn -b :${NOPE:-8000} app:app`:      `gunicorn|-b|:8000|app:app`,
		`x ${EMPTY:-d} ${EMPTY-d}`:                `x|d|`,
		`echo '$PORT' "\$PORT" "a b"`:             `echo|$PORT|$PORT|a b`,
		`gunicorn -w 2 "flaskr:create_app()"`:     `gunicorn|-w|2|flaskr:create_app()`,
		`C:\venv\Scripts\python.exe app.py`:       `C:\venv\Scripts\python.exe|app.py`,
	} {
		words, err := Words(in)
		if err != nil {
			t.Errorf("Words(%q): %v", in, err)
			continue
		}
		got, err := Expand(words, lookup)
		if err != nil {
			t.Errorf("Expand(%q): %v", in, err)
			continue
		}
		if strings.Join(got, "|") != want {
			t.Errorf("Expand(Words(%q)) = %q, want %q", in, strings.Join(got, "|"), want)
		}
	}
	for _, in := range []string{`a && b`, `a $(id)`, "a `id`", `a "$(id)"`, `a $1`, `a > log`, `a *`, `'open`, `"open`, ``, `a $`} {
		if _, err := Words(in); err == nil {
			t.Errorf("Words(%q) accepted shell syntax", in)
		}
	}
	words, _ := Words(`serve --port=$PORT --db=${DB} --x=${Y:-1} '$LIT'`)
	if got := Vars(words); !reflect.DeepEqual(got, []string{"PORT", "DB"}) {
		t.Errorf("Vars = %q", got)
	}
	if _, err := Expand(words, func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "$PORT, $DB is not set") {
		t.Errorf("Expand with nothing set: %v", err)
	}
}
