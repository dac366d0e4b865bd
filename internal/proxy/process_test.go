package proxy_test

// The proxy as servers run it (ferry-proxy): the real binary, started detached by
// Ensure, switched through its control file, killed with SIGKILL and
// started again.

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/proxy"
	"github.com/ferryhq/ferry/internal/testing/winetest"
)

var proxyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-proxy-bin")
	if err != nil {
		panic(err)
	}
	proxyBin = filepath.Join(dir, "ferry-proxy")
	out, err := exec.Command("go", "build", "-o", proxyBin, "github.com/ferryhq/ferry/cmd/ferry-proxy").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ferry-proxy: %v\n%s", err, out)
		os.Exit(1)
	}
	code := winetest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// namedServer answers its name on a loopback port of its own.
func namedServer(t *testing.T, name string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, name)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func body(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestProxyProcessSwitchKillRestart: the real ferry-proxy, started
// by Ensure, serves the port of its control file; a change of the file
// switches it under continuous requests with none failing; after kill -9,
// Ensure starts it again and it serves the port the file names.
func TestProxyProcessSwitchKillRestart(t *testing.T) {
	root := t.TempDir()
	a, b := namedServer(t, "a"), namedServer(t, "b")
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	url := "http://" + listen + "/"
	statePath := filepath.Join(root, "proxy.json")
	opts := proxy.EnsureOptions{
		Argv:      []string{proxyBin, "--config", statePath},
		StatePath: statePath,
		PIDPath:   filepath.Join(root, "run", "proxy.pid"),
		LogPath:   filepath.Join(root, "shared", "logs", "proxy.log"),
	}
	os.MkdirAll(filepath.Dir(opts.PIDPath), 0o755)
	t.Cleanup(func() {
		if h, err := proc.ReadPIDFile(opts.PIDPath); err == nil {
			proc.Stop(context.Background(), h, 5*time.Second)
		}
		if t.Failed() {
			log, _ := os.ReadFile(opts.LogPath)
			t.Logf("proxy log:\n%s", log)
		}
	})
	ctx := context.Background()
	if _, err := proxy.Apply(statePath, func(s *proxy.State) {
		*s = proxy.State{Listen: listen, Active: a, Release: "one", Drain: proxy.Duration(5 * time.Second)}
	}); err != nil {
		t.Fatal(err)
	}
	started, err := proxy.Ensure(ctx, opts)
	if err != nil || !started {
		t.Fatalf("ensure: started %v, %v", started, err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	if got := body(t, client, url); got != "a" {
		t.Fatalf("before the switch: %q", got)
	}

	// Continuous requests across switches made through the file alone.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := client.Post(url, "text/plain", strings.NewReader("x"))
				if err == nil {
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || (string(b) != "a" && string(b) != "b") {
						err = fmt.Errorf("%d %q", res.StatusCode, b)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	ports := []int{a, b}
	for i := 1; i <= 10; i++ {
		s, err := proxy.Apply(statePath, func(s *proxy.State) { s.Previous, s.Active = s.Active, ports[i%2] })
		if err != nil {
			t.Fatal(err)
		}
		st, err := proxy.WaitApplied(ctx, statePath, s.Serial, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if st.Active != ports[i%2] {
			t.Fatalf("status after switch %d: %+v", i, st)
		}
		if got := body(t, client, url); got != map[int]string{a: "a", b: "b"}[ports[i%2]] {
			t.Fatalf("after switch %d the proxy answered %q", i, got)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across 10 switches through the file; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	t.Logf("%d requests across 10 switches through the control file, none failed", ok.Load())
	if got := body(t, client, url); got != "a" { // 10 switches end on a
		t.Fatalf("got %q", got)
	}
	if _, err := proxy.Apply(statePath, func(s *proxy.State) { s.Previous, s.Active, s.Release = a, b, "two" }); err != nil {
		t.Fatal(err)
	}

	// kill -9 the proxy, right after the file changed and before it may
	// have been read: the restarted proxy serves what the file says.
	h, err := proc.ReadPIDFile(opts.PIDPath)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := os.FindProcess(h.PID)
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.Kill(); err != nil {
		t.Fatal(err)
	}
	for proc.Alive(h) {
		time.Sleep(5 * time.Millisecond)
	}
	client.CloseIdleConnections()
	if _, err := http.Get(url); err == nil {
		t.Fatal("the killed proxy still answers")
	}
	started, err = proxy.Ensure(ctx, opts)
	if err != nil || !started {
		t.Fatalf("ensure after kill -9: started %v, %v", started, err)
	}
	if got := body(t, client, url); got != "b" {
		t.Fatalf("after kill -9 and restart the proxy serves %q, want b (what proxy.json names)", got)
	}
	st, err := proxy.ReadStatus(statePath)
	if err != nil || st.Release != "two" || st.Active != b {
		t.Fatalf("status after restart: %+v %v", st, err)
	}
	if started, err := proxy.Ensure(ctx, opts); err != nil || started {
		t.Fatalf("ensure with a live proxy must leave it: started %v, %v", started, err)
	}
}

// TestProxyProcessRefusesABadControlFile: the command says what is wrong
// and exits 2 without listening.
func TestProxyProcessRefusesABadControlFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxy.json")
	os.WriteFile(path, []byte(`{"listen": "", "active": 1}`), 0o644)
	out, err := exec.Command(proxyBin, "--config", path).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "listen is empty") {
		t.Fatalf("want exit 2 naming the problem, got %v:\n%s", err, out)
	}
	out, err = exec.Command(proxyBin).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage: ferry-proxy") {
		t.Fatalf("want usage, got %v:\n%s", err, out)
	}
}

// TestRunFollowsTheFile is Run in this process (so the race detector sees
// it): it reports its start, follows a switch written to the file, keeps
// serving when the file turns to garbage and says so in its status.
func TestRunFollowsTheFile(t *testing.T) {
	root := t.TempDir()
	a, b := namedServer(t, "a"), namedServer(t, "b")
	statePath := filepath.Join(root, "proxy.json")
	s, err := proxy.Apply(statePath, func(s *proxy.State) { *s = proxy.State{Listen: "127.0.0.1:0", Active: a} })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- proxy.Run(ctx, proxy.RunOptions{StatePath: statePath, Log: log.New(io.Discard, "", 0), Poll: 5 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	st, err := proxy.WaitApplied(ctx, statePath, s.Serial, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + st.Listen + "/"
	if got := body(t, http.DefaultClient, url); got != "a" {
		t.Fatalf("got %q", got)
	}
	s, _ = proxy.Apply(statePath, func(s *proxy.State) { s.Previous, s.Active = s.Active, b })
	if st, err = proxy.WaitApplied(ctx, statePath, s.Serial, 10*time.Second); err != nil || st.Active != b {
		t.Fatalf("%+v %v", st, err)
	}
	if got := body(t, http.DefaultClient, url); got != "b" {
		t.Fatalf("after the switch got %q", got)
	}
	os.WriteFile(statePath, []byte("{garbage"), 0o644)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err = proxy.ReadStatus(statePath)
		if err == nil && st.Error != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the damaged control file was never reported: %+v %v", st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := body(t, http.DefaultClient, url); got != "b" {
		t.Fatalf("with a damaged control file the proxy answered %q, want b still", got)
	}
}
