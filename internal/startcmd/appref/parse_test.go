package appref

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseStart reads start commands as they are written in the wild:
// the module is the app's, never the server's, and nothing is called.
func TestParseStart(t *testing.T) {
	env := map[string]string{"FLASK_APP": "fromenv", "APP_MODULE": "mysite.wsgi:application", "PORT": "8000"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	type want = Target
	for _, tc := range []struct {
		start string
		want  want
	}{
		// gunicorn: flags with values, separately or with =, quoted app refs.
		{`gunicorn app:application`, want{Module: "app", Attr: "application"}},
		{`gunicorn -w 2 "flaskr:create_app()"`, want{Module: "flaskr", Attr: "create_app", Call: true}},
		{`gunicorn -w 4 mysite.wsgi:application`, want{Module: "mysite.wsgi", Attr: "application"}},
		{`gunicorn --bind :8000 --workers=3 app:app`, want{Module: "app", Attr: "app"}},
		{`gunicorn --bind 0.0.0.0:$PORT --access-logfile - app:app`, want{Module: "app", Attr: "app"}},
		{`gunicorn -b unix:/run/app.sock -k uvicorn.workers.UvicornWorker main:app`, want{Module: "main", Attr: "app"}},
		{`gunicorn -b:8000 -w4 --preload --reload wsgi`, want{Module: "wsgi"}},
		{`gunicorn 'app:create_app(config="prod")' -w 2`, want{Module: "app", Attr: "create_app", Call: true}},
		{`gunicorn --chdir src --pythonpath lib,vendor pkg.wsgi:app`, want{Module: "pkg.wsgi", Attr: "app", Dirs: []string{"src", "lib", "vendor"}}},
		{`gunicorn --timeout 120 -e KEY=value --log-level debug app:app`, want{Module: "app", Attr: "app"}},
		{`gunicorn --some-new-flag app:app`, want{Module: "app", Attr: "app"}}, // an unknown flag eats the ref, which is still found
		{`gunicorn -c gunicorn.conf.py`, want{}},
		{`.venv/bin/gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`python -m gunicorn -w 2 app:app`, want{Module: "app", Attr: "app"}},
		{`gunicorn $APP_MODULE`, want{Module: "mysite.wsgi", Attr: "application"}},
		// waitress
		{`waitress-serve --port=$PORT app:app`, want{Module: "app", Attr: "app"}},
		{`waitress-serve --listen=*:8080 --call flaskr:create_app`, want{Module: "flaskr", Attr: "create_app", Call: true}},
		{`python -m waitress --port 8000 app:app`, want{Module: "app", Attr: "app"}},
		{`C:\app\.venv\Scripts\waitress-serve.exe --port=8000 app:app`, want{Module: "app", Attr: "app"}},
		{`py -3.12 -m waitress --host 127.0.0.1 app:wsgi_app`, want{Module: "app", Attr: "wsgi_app"}},
		// uvicorn, hypercorn, daphne, granian
		{`uvicorn app:app`, want{Module: "app", Attr: "app"}},
		{`uvicorn pkg.main:app --port 8000`, want{Module: "pkg.main", Attr: "app"}},
		{`uvicorn --factory --host 0.0.0.0 --port $PORT main:create_app`, want{Module: "main", Attr: "create_app", Call: true}},
		{`uvicorn --app-dir src --reload api.main:app`, want{Module: "api.main", Attr: "app", Dirs: []string{"src"}}},
		{`python3 -m uvicorn main:app --workers 2`, want{Module: "main", Attr: "app"}},
		{`hypercorn --bind 0.0.0.0:8000 asgi:application`, want{Module: "asgi", Attr: "application"}},
		{`daphne -b 0.0.0.0 -p 8001 mysite.asgi:application`, want{Module: "mysite.asgi", Attr: "application"}},
		{`granian --interface wsgi --port 8000 app:app`, want{Module: "app", Attr: "app"}},
		// flask
		{`flask --app flaskr run`, want{Module: "flaskr"}},
		{`flask --app "flaskr:create_app()" run --host 0.0.0.0 --port 8000`, want{Module: "flaskr", Attr: "create_app", Call: true}},
		{`flask -A hello run --debug -p 5000`, want{Module: "hello"}},
		{`flask --app src/hello.py run`, want{Module: "hello", Dirs: []string{"src"}}},
		{`python -m flask --app flaskr run`, want{Module: "flaskr"}},
		{`FLASK_APP=inline flask run`, want{Module: "inline"}},
		{`flask run -h 0.0.0.0`, want{Module: "fromenv"}},
		// uwsgi
		{`uwsgi --http :8000 --module mysite.wsgi:application --master`, want{Module: "mysite.wsgi", Attr: "application"}},
		{`uwsgi --http :8000 --wsgi-file src/app.py --callable app`, want{Module: "app", Dirs: []string{"src"}}},
		// python scripts and modules
		{`python app.py`, want{Module: "app"}},
		{`python3 server.py --port 8000`, want{Module: "server"}},
		{`pythonw.exe app.py`, want{Module: "app"}},
		{`python3.12 -u -X dev app.py`, want{Module: "app"}},
		{`python src/web/server.py`, want{Module: "server", Dirs: []string{"src/web"}}},
		{`python .\scripts\run.py`, want{Module: "run", Dirs: []string{"scripts"}}},
		{`python -m mypkg`, want{Module: "mypkg"}},
		{`python -mmypkg.cli serve`, want{Module: "mypkg.cli"}},
		{`python -W ignore -m mypkg`, want{Module: "mypkg"}},
		{`python manage.py runserver 0.0.0.0:$PORT`, want{Module: "manage"}},
		{`python -c "import app; app.main()"`, want{}},
		{`./app.py`, want{Module: "app"}},
		// wrappers, assignments, shells
		{`exec gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`env PYTHONUNBUFFERED=1 gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`PORT=8000 WEB_CONCURRENCY=2 gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`poetry run gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`uv run --frozen --with gunicorn gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`ddtrace-run gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`newrelic-admin run-program gunicorn app:app`, want{Module: "app", Attr: "app"}},
		{`opentelemetry-instrument --traces_exporter console uvicorn main:app`, want{Module: "main", Attr: "app"}},
		{`sh -c "python manage.py migrate && exec gunicorn mysite.wsgi"`, want{Module: "mysite.wsgi"}},
		{`cd src && gunicorn app:app`, want{Module: "app", Attr: "app", Dirs: []string{"src"}}},
		// what internal/detect writes into a new ferry.yml
		{`python -m waitress --listen=127.0.0.1:8000 --call flaskr:create_app`, want{Module: "flaskr", Attr: "create_app", Call: true}},
		{`python -m gunicorn --bind 127.0.0.1:8000 'flaskr:create_app()'`, want{Module: "flaskr", Attr: "create_app", Call: true}},
		{`python -m uvicorn --factory main:create_app --host 127.0.0.1 --port 8000`, want{Module: "main", Attr: "create_app", Call: true}},
		// nothing to say
		{``, want{}},
		{`./run.sh`, want{}},
		{`node server.js`, want{}},
		{`streamlit run dashboard.py`, want{Module: "dashboard", Guessed: true}},
		{`sanic server:app --port 8000`, want{Module: "server", Attr: "app", Guessed: true}},
		{`redis-server --bind localhost:6379`, want{}},
	} {
		got := Parse(tc.start, getenv)
		got.Server, got.Args = "", nil // TestParseServer checks them
		if len(got.Dirs) == 0 {
			got.Dirs = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.start, got, tc.want)
		}
	}
}

func TestSplitStart(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "PORT" {
			return "9000", true
		}
		return "", false
	}
	for in, want := range map[string]string{
		`gunicorn -b ":$PORT" app:app`:       `gunicorn|-b|:9000|app:app`,
		`gunicorn -b :${PORT} app:app`:       `gunicorn|-b|:9000|app:app`,
		`gunicorn -b :${NOPE:-8000} app:app`: `gunicorn|-b|:8000|app:app`,
		`gunicorn -b :$NOPE app:app`:         `gunicorn|-b|:$NOPE|app:app`,
		`echo 'a "b" $PORT' "c \"d\""`:       `echo|a "b" $PORT|c "d"`,
		`a && b; c || d | e & f`:             `a/b/c/d/e/f`,
		`C:\venv\Scripts\python.exe app.py`:  `C:\venv\Scripts\python.exe|app.py`,
		"python\tapp.py\n":                   `python|app.py`,
		`unterminated "quote`:                `unterminated|quote`,
	} {
		var cmds []string
		for _, words := range Split(in, env) {
			cmds = append(cmds, strings.Join(words, "|"))
		}
		if got := strings.Join(cmds, "/"); got != want {
			t.Errorf("Split(%q) = %q, want %q", in, got, want)
		}
	}
}
