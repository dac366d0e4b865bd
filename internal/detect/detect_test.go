package detect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Flask's tutorial (flaskr): a package with an application factory.
const flaskrInit = `import os

from flask import Flask


def create_app(test_config=None):
    # create and configure the app
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY='dev')

    @app.route('/hello')
    def hello():
        return 'Hello, World!'

    from . import db
    db.init_app(app)

    from . import auth
    app.register_blueprint(auth.bp)
    return app
`

const flaskrPyproject = `[project]
name = "flaskr"
version = "1.0.0"
description = "The basic blog app built in the Flask tutorial."
dependencies = [
    "flask",
]

[project.optional-dependencies]
test = ["pytest"]

[build-system]
requires = ["flit_core<4"]
build-backend = "flit_core.buildapi"
`

type want struct {
	start, server, target, requirements, health string
	factory                                     bool
	from                                        string // file:line
	deps, dev                                   []string
	notes                                       []string // substrings, each in some note
}

func TestDetect(t *testing.T) {
	hello, err := os.ReadFile(filepath.Join("..", "..", "examples", "hello", "app.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		platform string
		files    map[string]string
		want     want
	}{
		{
			name: "flask tutorial, flat", platform: "windows",
			files: map[string]string{"flaskr/__init__.py": flaskrInit, "flaskr/db.py": "import sqlite3\n", "flaskr/auth.py": "bp = None\n",
				"pyproject.toml": flaskrPyproject, "tests/test_factory.py": "def test_hello(client):\n    client.get('/health')\n"},
			want: want{start: "python -m waitress --listen=127.0.0.1:8000 --call flaskr:create_app", server: "waitress", target: "flaskr:create_app", factory: true,
				from: "flaskr/__init__.py:6", requirements: "pyproject.toml", deps: []string{"flask"},
				notes: []string{"pyproject.toml's [project] dependencies", "no /health", "waitress, which pyproject.toml does not declare"}},
		},
		{
			name: "flask tutorial, src layout, linux", platform: "linux",
			files: map[string]string{"src/flaskr/__init__.py": flaskrInit, "pyproject.toml": flaskrPyproject},
			want: want{start: "python -m gunicorn --bind 127.0.0.1:8000 'flaskr:create_app()'", server: "gunicorn", target: "flaskr:create_app", factory: true,
				from: "src/flaskr/__init__.py:6", requirements: "pyproject.toml", deps: []string{"flask"}, notes: []string{"under src/"}},
		},
		{
			name: "procfile gunicorn on linux", platform: "linux",
			files: map[string]string{"Procfile": "release: python manage.py migrate\nweb: gunicorn app:app --bind 0.0.0.0:$PORT --workers 2\n",
				"requirements.txt": "Flask==3.1.0\ngunicorn==23.0.0  # the server\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/healthz')\ndef h():\n    return 'ok'\n"},
			want: want{start: "python -m gunicorn app:app --bind 0.0.0.0:8000 --workers 2", server: "gunicorn", target: "app:app", from: "Procfile:2",
				requirements: "requirements.txt", deps: []string{"flask", "gunicorn"}, health: "/healthz"},
		},
		{
			name: "procfile gunicorn on windows becomes waitress", platform: "windows",
			files: map[string]string{"Procfile": "web: gunicorn 'shop:create_app()' -b :$PORT\n", "requirements.txt": "flask\ngunicorn\n"},
			want: want{start: "python -m waitress --listen=127.0.0.1:8000 --call shop:create_app", server: "waitress", target: "shop:create_app", factory: true,
				from: "Procfile:1", requirements: "requirements.txt", deps: []string{"flask", "gunicorn"}, notes: []string{"does not run on Windows"}},
		},
		{
			name: "readme waitress", platform: "windows",
			files: map[string]string{"README.md": "# Shop\n\nRun it:\n\n```\n$ waitress-serve --port=8080 --call 'shop:create_app'\n```\n", "requirements.txt": "-r requirements/base.txt\n", "requirements/base.txt": "flask\nwaitress>=3\n",
				"shop/__init__.py": "def create_app():\n    pass\n", "shop/views.py": "@bp.route(\"/status\")\ndef status():\n    pass\n"},
			want: want{start: "python -m waitress --port=8080 --call shop:create_app", server: "waitress", target: "shop:create_app", factory: true, from: "README.md:6",
				requirements: "requirements.txt", deps: []string{"flask", "waitress"}, health: "/status"},
		},
		{
			name: "fastapi", platform: "linux",
			files: map[string]string{"main.py": "from fastapi import FastAPI\n\napp = FastAPI(title='api')\n\n\n@app.get(\"/healthz\")\nasync def healthz():\n    return {}\n\n@app.get('/health')\nasync def health():\n    return {}\n",
				"requirements.txt": "fastapi\nuvicorn[standard]\n"},
			want: want{start: "python -m uvicorn main:app --host 127.0.0.1 --port 8000", server: "uvicorn", target: "main:app", from: "main.py:3",
				requirements: "requirements.txt", deps: []string{"fastapi", "uvicorn"}, health: "/health"},
		},
		{
			name: "pyproject tool scripts", platform: "linux",
			files: map[string]string{"pyproject.toml": "[project]\nname = \"api\"\ndependencies = [\"fastapi>=0.110\", \"uvicorn\"]\n\n[tool.pdm.scripts]\nstart = \"uvicorn api.main:app --host 0.0.0.0 --port 8000\"\n"},
			want: want{start: "python -m uvicorn api.main:app --host 0.0.0.0 --port 8000", server: "uvicorn", target: "api.main:app", from: "pyproject.toml:6",
				requirements: "pyproject.toml", deps: []string{"fastapi", "uvicorn"}},
		},
		{
			name: "flask run in the readme", platform: "windows",
			files: map[string]string{"README.rst": "Start the dev server::\n\n    flask --app hello run --debug\n", "hello.py": "from flask import Flask\napp = Flask(__name__)\n", "requirements.txt": "flask\nwaitress\n"},
			want: want{start: "python -m waitress --listen=127.0.0.1:8000 hello:app", server: "waitress", target: "hello:app", from: "README.rst:3",
				requirements: "requirements.txt", deps: []string{"flask", "waitress"}, notes: []string{"development server"}},
		},
		{
			name: "examples/hello: a stdlib app that serves itself", platform: "linux",
			files: map[string]string{"app.py": string(hello), "requirements.txt": "# hello uses the standard library only.\n", "requirements-dev.txt": "pytest\n", "tests/test_app.py": "x = '/status'\n"},
			want: want{start: "python app.py", server: "python", requirements: "requirements.txt", health: "/health", dev: []string{"requirements-dev.txt"},
				notes: []string{"kept out of the deploy: requirements-dev.txt"}},
		},
		{
			name: "django", platform: "windows",
			files: map[string]string{"manage.py": "import django\n", "mysite/wsgi.py": "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n", "requirements.txt": "Django\nwaitress\n",
				"mysite/urls.py": "urlpatterns = [path('healthz/', views.h)]\n"},
			want: want{start: "python -m waitress --listen=127.0.0.1:8000 mysite.wsgi:application", server: "waitress", target: "mysite.wsgi:application", from: "mysite/wsgi.py:3",
				requirements: "requirements.txt", deps: []string{"django", "waitress"}},
		},
		{
			name: "nothing to find", platform: "windows",
			files: map[string]string{"notes.txt": "hi\n"},
			want:  want{notes: []string{"found no start command", "no requirements.txt", "no /health"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range c.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Detect(dir, Options{Platform: c.platform})
			if err != nil {
				t.Fatal(err)
			}
			w := c.want
			if w.start == "" {
				if r.Start != nil {
					t.Errorf("start %+v, want none", r.Start)
				}
			} else if r.Start == nil {
				t.Errorf("no start, want %q (notes %q)", w.start, r.Notes)
			} else {
				s := r.Start
				if s.Command != w.start || s.Server != w.server || s.Target != w.target || s.Factory != w.factory {
					t.Errorf("start %+v\nwant command %q server %s target %s factory %v", s, w.start, w.server, w.target, w.factory)
				}
				if w.from != "" && s.From.String() != w.from {
					t.Errorf("start learned from %s, want %s", s.From, w.from)
				}
			}
			if r.Requirements != w.requirements || strings.Join(r.Dependencies, ",") != strings.Join(w.deps, ",") || strings.Join(r.DevRequirements, ",") != strings.Join(w.dev, ",") {
				t.Errorf("requirements %q deps %v dev %v, want %q %v %v", r.Requirements, r.Dependencies, r.DevRequirements, w.requirements, w.deps, w.dev)
			}
			if r.Health != w.health {
				t.Errorf("health %q (from %v), want %q", r.Health, r.HealthFrom, w.health)
			}
			for _, n := range w.notes {
				found := false
				for _, got := range r.Notes {
					found = found || strings.Contains(got, n)
				}
				if !found {
					t.Errorf("no note with %q in %q", n, r.Notes)
				}
			}
		})
	}
}

func TestDetectRefuses(t *testing.T) {
	if _, err := Detect(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Errorf("a missing directory was read")
	}
	if _, err := Detect(t.TempDir(), Options{Platform: "macos"}); err == nil {
		t.Errorf("platform macos accepted")
	}
}
