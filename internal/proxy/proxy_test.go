package proxy

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testBackend is a release stand-in: an HTTP server on a loopback port of
// its own, answering its name.
type testBackend struct {
	name string
	port int
	hits atomic.Int64
	srv  *http.Server
}

func startBackend(t testing.TB, name string, h http.Handler) *testBackend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &testBackend{name: name, port: l.Addr().(*net.TCPAddr).Port}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			fmt.Fprint(w, name)
		})
	}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h.ServeHTTP(w, r)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go b.srv.Serve(l)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

// startProxy serves a proxy on a loopback port and returns it with its URL.
func startProxy(t testing.TB, cfg Config, port int) (*Proxy, string) {
	t.Helper()
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(testWriter{t}, "", 0)
	}
	p, err := New(cfg, port)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	scheme := "http"
	if cfg.CertFile != "" {
		scheme = "https"
	}
	return p, scheme + "://" + l.Addr().String()
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestNoBackendYetIs503(t *testing.T) {
	_, url := startProxy(t, Config{}, 0)
	if code, _ := get(t, http.DefaultClient, url+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503 before the first switch", code)
	}
}

// TestSwitchUnderLoadFailsNoRequest keeps requests flowing from several
// clients (GETs and POSTs with bodies, over kept-alive connections) while
// the proxy switches between two backends many times, draining the old
// one after each switch: not one request may fail, and after each switch
// returns the next request goes to the new backend.
func TestSwitchUnderLoadFailsNoRequest(t *testing.T) {
	a := startBackend(t, "a", nil)
	b := startBackend(t, "b", nil)
	p, url := startProxy(t, Config{}, a.port)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var res *http.Response
				var err error
				if (i+n)%2 == 0 {
					res, err = client.Get(url + "/x")
				} else {
					res, err = client.Post(url+"/x", "text/plain", strings.NewReader(strings.Repeat("body", 256)))
				}
				if err == nil {
					body, rerr := io.ReadAll(res.Body)
					res.Body.Close()
					if rerr != nil {
						err = rerr
					} else if res.StatusCode != 200 || (string(body) != "a" && string(body) != "b") {
						err = fmt.Errorf("status %d body %q", res.StatusCode, body)
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
	backends := []*testBackend{a, b}
	const switches = 60
	for i := 1; i <= switches; i++ {
		next := backends[i%2]
		prev := p.Switch(next.port)
		if _, body := get(t, client, url+"/check"); body != next.name {
			t.Fatalf("switch %d: a request after Switch reached %q, want %q", i, body, next.name)
		}
		if res := p.Drain(context.Background(), prev); res.Cut != 0 {
			t.Fatalf("switch %d: drain cut %d requests", i, res.Cut)
		}
		if p.InFlight(prev) != 0 {
			t.Fatalf("switch %d: requests in flight to the drained port", i)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across %d switches; first: %v", failed.Load(), failed.Load()+ok.Load(), switches, firstErr.Load())
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 {
		t.Fatalf("both backends must have served: a %d, b %d", a.hits.Load(), b.hits.Load())
	}
	t.Logf("%d requests, none failed, across %d switches (a %d, b %d)", ok.Load(), switches, a.hits.Load(), b.hits.Load())
}

// TestDrainWaitsForASlowRequest: a request in flight on the old backend
// when the switch happens finishes there with its answer, and Drain
// returns only after it did; requests after the switch go to the new one.
func TestDrainWaitsForASlowRequest(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	a := startBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		fmt.Fprint(w, "a"+r.URL.Path)
	}))
	b := startBackend(t, "b", nil)
	p, url := startProxy(t, Config{}, a.port)

	slow := make(chan string, 1)
	go func() {
		res, err := http.Get(url + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- string(body)
	}()
	<-arrived
	if prev := p.Switch(b.port); prev != a.port {
		t.Fatalf("Switch returned %d, want the old port %d", prev, a.port)
	}
	if _, body := get(t, http.DefaultClient, url+"/"); body != "b" {
		t.Fatalf("after the switch got %q, want b", body)
	}
	drained := make(chan DrainResult, 1)
	go func() { drained <- p.Drain(context.Background(), a.port) }()
	// Not a timed assertion: the slow request is provably still in flight
	// (the backend holds it), so a drain that returned now would be wrong.
	for p.InFlight(a.port) != 1 {
		pause()
	}
	select {
	case res := <-drained:
		t.Fatalf("drain returned %+v while a request was still in flight", res)
	default:
	}
	close(release)
	if body := <-slow; body != "a/slow" {
		t.Fatalf("the slow request got %q, want its answer from a", body)
	}
	if res := <-drained; res.Cut != 0 || res.Active {
		t.Fatalf("drain: %+v, want nothing cut", res)
	}
}

func pause() { time.Sleep(time.Millisecond) }

// TestDrainTimeoutCutsWhatRemains: a request that outlives the drain
// timeout is cut, and Drain says so, so the old release can be stopped.
func TestDrainTimeoutCutsWhatRemains(t *testing.T) {
	arrived := make(chan struct{})
	a := startBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done() // until the proxy hangs up
	}))
	b := startBackend(t, "b", nil)
	p, url := startProxy(t, Config{Drain: 50 * time.Millisecond}, a.port)
	errc := make(chan int, 1)
	go func() {
		res, err := http.Get(url + "/forever")
		if err != nil {
			errc <- -1
			return
		}
		res.Body.Close()
		errc <- res.StatusCode
	}()
	<-arrived
	p.Switch(b.port)
	if res := p.Drain(context.Background(), a.port); res.Cut != 1 {
		t.Fatalf("drain: %+v, want one request cut", res)
	}
	if code := <-errc; code != http.StatusBadGateway && code != -1 {
		t.Fatalf("the cut request got %d, want 502 or a closed connection", code)
	}
}

// TestSwitchBackDuringDrain: a rollback while the old port still drains is
// a switch back to it; the drain then reports it active and cuts nothing.
func TestSwitchBackDuringDrain(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	a := startBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		fmt.Fprint(w, "a")
	}))
	b := startBackend(t, "b", nil)
	p, url := startProxy(t, Config{}, a.port)
	go func() {
		if res, err := http.Get(url + "/slow"); err == nil {
			res.Body.Close()
		}
	}()
	<-arrived
	p.Switch(b.port)
	drained := make(chan DrainResult, 1)
	go func() { drained <- p.Drain(context.Background(), a.port) }()
	p.Switch(a.port)
	close(release)
	if res := <-drained; !res.Active || res.Cut != 0 {
		t.Fatalf("drain after a switch back: %+v, want active and nothing cut", res)
	}
	if _, body := get(t, http.DefaultClient, url+"/"); body != "a" {
		t.Fatalf("after the switch back got %q, want a", body)
	}
}

// wsHandler is a minimal websocket-style upgrade: 101, then it echoes
// every line on the hijacked connection (framing is the app's business;
// the proxy only has to pass the bytes both ways).
func wsHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		for {
			line, err := rw.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(rw, "%s:%s", name, line)
			rw.Flush()
		}
	})
}

func dialUpgrade(t *testing.T, proxyURL string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the proxy: %s", res.Status)
	}
	return conn, br
}

// TestWebsocketEchoSurvivesASwitch: an upgraded connection passes bytes
// both ways through the proxy, stays on its backend across a switch (new
// upgrades go to the new one), and Drain waits for it to close.
func TestWebsocketEchoSurvivesASwitch(t *testing.T) {
	a := startBackend(t, "a", wsHandler("a"))
	b := startBackend(t, "b", wsHandler("b"))
	p, url := startProxy(t, Config{}, a.port)

	conn, br := dialUpgrade(t, url)
	echo := func(conn net.Conn, br *bufio.Reader, msg string) string {
		fmt.Fprintf(conn, "%s\n", msg)
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(line)
	}
	if got := echo(conn, br, "hello"); got != "a:hello" {
		t.Fatalf("echo: %q", got)
	}
	p.Switch(b.port)
	if got := echo(conn, br, "still"); got != "a:still" {
		t.Fatalf("after the switch the open connection echoed %q, want a:still", got)
	}
	conn2, br2 := dialUpgrade(t, url)
	defer conn2.Close()
	if got := echo(conn2, br2, "new"); got != "b:new" {
		t.Fatalf("a new upgrade after the switch echoed %q, want b:new", got)
	}
	drained := make(chan DrainResult, 1)
	go func() { drained <- p.Drain(context.Background(), a.port) }()
	select {
	case res := <-drained:
		t.Fatalf("drain returned %+v while the upgraded connection was open", res)
	default:
	}
	conn.Close()
	if res := <-drained; res.Cut != 0 {
		t.Fatalf("drain: %+v", res)
	}
}

// TestStreamingIsFlushedAtOnce: the first chunk of a streamed response
// reaches the client while the app has not yet written the second.
func TestStreamingIsFlushedAtOnce(t *testing.T) {
	next := make(chan struct{})
	a := startBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream") // not SSE: flushing must not depend on it
		fmt.Fprint(w, "first\n")
		http.NewResponseController(w).Flush()
		<-next
		fmt.Fprint(w, "second\n")
	}))
	_, url := startProxy(t, Config{}, a.port)
	res, err := http.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk: %q %v", line, err)
	}
	close(next) // only now may the app finish the response
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Fatalf("rest: %q", rest)
	}
}

// TestRequestBodyIsStreamed: the backend reads the start of a request body
// while the client has not yet written the rest: the proxy does not
// collect bodies whole.
func TestRequestBodyIsStreamed(t *testing.T) {
	gotFirst := make(chan struct{})
	a := startBackend(t, "a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, buf); err != nil || string(buf) != "part1" {
			http.Error(w, "bad start", 400)
			return
		}
		close(gotFirst)
		rest, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s|%s", buf, rest)
	}))
	_, url := startProxy(t, Config{}, a.port)
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("part1"))
		<-gotFirst
		pw.Write([]byte("part2"))
		pw.Close()
	}()
	res, err := http.Post(url+"/upload", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if string(body) != "part1|part2" {
		t.Fatalf("got %q", body)
	}
}

func TestHeaderLimitIs431(t *testing.T) {
	a := startBackend(t, "a", nil)
	_, url := startProxy(t, Config{MaxHeaderBytes: 4 << 10}, a.port)
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 64<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 64 KiB header got %d, want 431", res.StatusCode)
	}
	if a.hits.Load() != 0 {
		t.Fatal("the oversized request reached the backend")
	}
	if code, _ := get(t, http.DefaultClient, url+"/"); code != 200 {
		t.Fatalf("a small request got %d", code)
	}
}

func headerEcho(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(map[string]string{
		"xff":   r.Header.Get("X-Forwarded-For"),
		"proto": r.Header.Get("X-Forwarded-Proto"),
		"host":  r.Header.Get("X-Forwarded-Host"),
		"Host":  r.Host,
		"path":  r.URL.Path,
	})
}

func forwarded(t *testing.T, c *http.Client, url string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/h", nil)
	req.Host = "app.example.test"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "spoofed.example.test")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]string
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestForwardedHeaders: by default a client's X-Forwarded-* are replaced
// by what the proxy saw; with TrustForwarded they are kept and the
// client's address is appended.
func TestForwardedHeaders(t *testing.T) {
	a := startBackend(t, "a", http.HandlerFunc(headerEcho))
	_, url := startProxy(t, Config{}, a.port)
	m := forwarded(t, http.DefaultClient, url)
	want := map[string]string{"xff": "127.0.0.1", "proto": "http", "host": "app.example.test", "Host": "app.example.test", "path": "/h"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("default: %s = %q, want %q", k, m[k], v)
		}
	}
	_, turl := startProxy(t, Config{TrustForwarded: true}, a.port)
	m = forwarded(t, http.DefaultClient, turl)
	want = map[string]string{"xff": "203.0.113.9, 127.0.0.1", "proto": "https", "host": "spoofed.example.test", "Host": "app.example.test"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("trusted: %s = %q, want %q", k, m[k], v)
		}
	}
}

func TestOwnHealthIsOffByDefault(t *testing.T) {
	a := startBackend(t, "a", http.HandlerFunc(headerEcho))
	_, url := startProxy(t, Config{}, a.port)
	if _, body := get(t, http.DefaultClient, url+HealthPath); !strings.Contains(body, `"path":"`+HealthPath+`"`) {
		t.Fatalf("with health off the path must reach the app: %s", body)
	}
	p, hurl := startProxy(t, Config{Health: true}, a.port)
	code, body := get(t, http.DefaultClient, hurl+HealthPath)
	var m struct {
		Port int `json:"backend_port"`
	}
	json.Unmarshal([]byte(body), &m)
	if code != 200 || m.Port != p.Active() {
		t.Fatalf("own health: %d %s", code, body)
	}
}

// writeCert makes a self-signed certificate for 127.0.0.1 named cn and
// writes the pair to certFile and keyFile (each replaced by rename, as a
// renewal tool would), with the given modification time.
func writeCert(t *testing.T, certFile, keyFile, cn string, mod time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{
		{keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})},
		{certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})},
	} {
		if err := os.WriteFile(f.path+".new", f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path+".new", mod, mod); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".new", f.path); err != nil {
			t.Fatal(err)
		}
	}
}

func servedCN(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	res, err := c.Get(url + "/h")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]string
	json.NewDecoder(res.Body).Decode(&m)
	if m["proto"] != "https" {
		t.Fatalf("X-Forwarded-Proto behind TLS is %q", m["proto"])
	}
	return res.TLS.PeerCertificates[0].Subject.CommonName
}

// TestTLSAndReloadOnChange: with cert_file and key_file the proxy serves
// TLS with that pair, and a renewed pair (new files, new modification
// time) is served at a later handshake without a restart.
func TestTLSAndReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "first", time.Now().Add(-time.Minute))
	a := startBackend(t, "a", http.HandlerFunc(headerEcho))
	_, url := startProxy(t, Config{CertFile: certFile, KeyFile: keyFile}, a.port)
	if cn := servedCN(t, url); cn != "first" {
		t.Fatalf("served %q", cn)
	}
	writeCert(t, certFile, keyFile, "second", time.Now())
	deadline := time.Now().Add(30 * time.Second)
	for servedCN(t, url) != "second" {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTLSNeedsBothFiles(t *testing.T) {
	if _, err := New(Config{CertFile: "c.pem"}, 0); err == nil {
		t.Fatal("a certificate without a key must be refused")
	}
	if _, err := New(Config{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}, 0); err == nil {
		t.Fatal("missing files must be refused at start")
	}
}

// TestTLSHalfRenewedKeepsTheOldCertificate: a certificate whose key does
// not match yet (a renewal caught between the two files) is not served;
// the last good pair is, until the key arrives.
func TestTLSHalfRenewedKeepsTheOldCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "first", time.Now().Add(-time.Minute))
	a := startBackend(t, "a", http.HandlerFunc(headerEcho))
	_, url := startProxy(t, Config{CertFile: certFile, KeyFile: keyFile}, a.port)
	other := t.TempDir()
	writeCert(t, filepath.Join(other, "c.pem"), filepath.Join(other, "k.pem"), "second", time.Now())
	newCert, _ := os.ReadFile(filepath.Join(other, "c.pem"))
	os.WriteFile(certFile, newCert, 0o600) // the key is still the old one
	time.Sleep(2 * statEvery)              // let a handshake look at the files
	if cn := servedCN(t, url); cn != "first" {
		t.Fatalf("a mismatched pair was served: %q", cn)
	}
	newKey, _ := os.ReadFile(filepath.Join(other, "k.pem"))
	os.WriteFile(keyFile, newKey, 0o600)
	deadline := time.Now().Add(30 * time.Second)
	for servedCN(t, url) != "second" {
		if time.Now().After(deadline) {
			t.Fatal("the completed renewal was never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
