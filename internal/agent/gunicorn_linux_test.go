package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/testing/testtool"
)

const wsgiPy = `import json, os

def app(environ, start_response):
    body = json.dumps({"version": os.environ.get("FERRY_SHA", "")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
`

// workers are the processes whose parent is pid (gunicorn's workers).
func workers(t *testing.T, pid int) []int {
	t.Helper()
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			out = append(out, n)
		}
	}
	return out
}

const asgiPy = `import json, os

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = json.dumps({"version": os.environ.get("FERRY_SHA", "")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
`

// TestUvicornReloaderStopsWithTheApp runs Debian's uvicorn with --reload
// (a reloader process and the server it spawns): a redeploy stops both.
func TestUvicornReloaderStopsWithTheApp(t *testing.T) {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import uvicorn").CombinedOutput(); err != nil {
		testtool.Missing(t, "python3-uvicorn", string(out))
	}
	s := newSite(t)
	s.writeFile("asgi.py", asgiPy)
	sha1 := s.change(false)
	spec := s.spec("apply", sha1)
	spec.Start = []string{"/usr/bin/python3", "-m", "uvicorn", "--reload", "--host", "127.0.0.1", "--port", "$PORT", "asgi:app"}
	if r := runAgent(t, spec); r.code != 0 || s.health() != sha1 {
		t.Fatalf("deploy: %s", r)
	}
	h, err := proc.ReadPIDFile(filepath.Join(s.root, "run", "app.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var children []int
	for i := 0; i < 200 && len(children) == 0; i++ {
		if children = workers(t, h.PID); len(children) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if len(children) == 0 {
		t.Fatalf("uvicorn's reloader %d runs no server process", h.PID)
	}
	sha2 := s.change(false)
	spec2 := s.spec("apply", sha2)
	spec2.Start = spec.Start
	if r := runAgent(t, spec2); r.code != 0 || s.health() != sha2 {
		t.Fatalf("second deploy: %s", r)
	}
	for _, p := range append(children, h.PID) {
		if alive(p) {
			t.Errorf("pid %d of the first release's uvicorn still runs after the redeploy", p)
		}
	}
	h2, _ := proc.ReadPIDFile(filepath.Join(s.root, "run", "app.pid"))
	kids := workers(t, h2.PID)
	proc.Stop(t.Context(), h2, 5e9)
	for _, p := range append(kids, h2.PID) {
		if alive(p) {
			t.Errorf("pid %d of uvicorn still runs after its stop", p)
		}
	}
}

// TestGunicornWorkersStopWithTheApp deploys with Debian's real gunicorn
// and two workers, written as people write it (gunicorn -w 2 ... on the
// PATH, the venv having none), then redeploys and rolls back: each time
// the release that served stops with its master and every worker, and no
// process of it remains.
func TestGunicornWorkersStopWithTheApp(t *testing.T) {
	testtool.Need(t, "gunicorn")
	if out, err := exec.Command("gunicorn", "--version").CombinedOutput(); err != nil {
		testtool.Missing(t, "gunicorn", string(out))
	}
	s := newSite(t)
	s.writeFile("wsgi.py", wsgiPy)
	sha1 := s.change(false)
	spec := s.spec("apply", sha1)
	spec.Start = []string{"gunicorn", "-w", "2", "--bind", "127.0.0.1:$PORT", "--graceful-timeout", "2", "wsgi:app"}
	if r := runAgent(t, spec); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	served := func() (int, []int) {
		t.Helper()
		h, err := proc.ReadPIDFile(filepath.Join(s.root, "run", "app.pid"))
		if err != nil {
			t.Fatal(err)
		}
		// Workers boot one after another: wait for both (bounded).
		var w []int
		for i := 0; i < 200; i++ {
			if w = workers(t, h.PID); len(w) >= 2 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(w) < 2 {
			t.Fatalf("gunicorn %d has workers %v, want 2", h.PID, w)
		}
		return h.PID, w
	}
	master1, workers1 := served()
	if s.health() != sha1 {
		t.Fatal("gunicorn does not serve the release")
	}
	gone := func(what string, pids ...int) {
		t.Helper()
		for _, p := range pids {
			if alive(p) {
				t.Errorf("%s: pid %d is still running", what, p)
			}
		}
	}

	sha2 := s.change(false)
	spec2 := s.spec("apply", sha2)
	spec2.Start = spec.Start
	if r := runAgent(t, spec2); r.code != 0 {
		t.Fatalf("second deploy: %s", r)
	}
	gone("the first release's gunicorn after the redeploy", append(workers1, master1)...)
	master2, workers2 := served()
	if s.health() != sha2 {
		t.Fatal("the second release does not serve")
	}

	rb := s.spec("rollback", "")
	rb.Start = spec.Start
	if r := runAgent(t, rb); r.code != 0 || s.health() != sha1 {
		t.Fatalf("rollback: %s", r)
	}
	gone("the second release's gunicorn after the rollback", append(workers2, master2)...)
	master3, workers3 := served()
	h, _ := proc.ReadPIDFile(filepath.Join(s.root, "run", "app.pid"))
	if err := proc.Stop(t.Context(), h, 5e9); err != nil {
		t.Fatal(err)
	}
	gone("gunicorn after its stop", append(workers3, master3)...)
}
