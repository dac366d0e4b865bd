// Package smtptest runs a real SMTP server for tests: Debian's aiosmtpd
// (python3-aiosmtpd) on loopback, with STARTTLS on a certificate made for
// the test and AUTH PLAIN/LOGIN required after it. Every accepted message
// is written to a file before the server answers 250, so a client that
// has returned from sending can read it at once. Under CI=true a missing
// aiosmtpd fails the test; elsewhere the test is skipped, naming it.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// Options shape the server.
type Options struct {
	// NoTLS starts a server that offers no STARTTLS but advertises AUTH in
	// clear text: the client must refuse to log in to it.
	NoTLS bool
	// User and Password are the login it accepts; defaults are made up.
	User, Password string
}

// Server is a running aiosmtpd.
type Server struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	// RootCAs trusts the server's certificate (made for 127.0.0.1).
	RootCAs        *x509.CertPool
	User, Password string
	dir            string
}

// Received is one accepted message.
type Received struct {
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	// Data is the message as sent (headers and body).
	Data string `json:"data"`
	// TLS and Login say how the session that sent it was secured.
	TLS   bool   `json:"tls"`
	Login string `json:"login"`
}

const script = `
import asyncio, json, os, socket, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

cert, key, outdir, user, password, notls = sys.argv[1:7]
ctx = None
if notls != "1":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

def record(name, obj):
    path = os.path.join(outdir, name)
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)

class Handler:
    def __init__(self):
        self.n = 0
    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        record("msg-%04d.json" % self.n, {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"), "tls": session.ssl is not None, "login": login})
        return "250 OK"

attempts = []
def authenticator(server, session, envelope, mechanism, auth_data):
    attempts.append({"mechanism": mechanism, "tls": session.ssl is not None})
    record("auth.json", attempts)
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
    # handled=False: aiosmtpd answers a failure with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
sock.listen(16)
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
handler = Handler()
def factory():
    return SMTP(handler, hostname="ferry-smtptest", tls_context=ctx, require_starttls=ctx is not None,
                authenticator=authenticator, auth_required=True, auth_require_tls=ctx is not None, loop=loop)
loop.run_until_complete(loop.create_server(factory, sock=sock))
print(sock.getsockname()[1], flush=True)
loop.run_forever()
`

var (
	pyOnce sync.Once
	pyPath string
)

// python finds an interpreter that imports aiosmtpd: $FERRY_TEST_PYTHON,
// Debian's /usr/bin/python3 (a pyenv python3 earlier on PATH lacks
// Debian's modules), then python3 on PATH.
func python(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() {
		for _, c := range []string{os.Getenv("FERRY_TEST_PYTHON"), "/usr/bin/python3", "python3"} {
			if c != "" && exec.Command(c, "-c", "import aiosmtpd.smtp").Run() == nil {
				pyPath = c
				return
			}
		}
	})
	if pyPath == "" {
		testtool.Missing(t, "aiosmtpd (Debian's python3-aiosmtpd)", "no python3 here can import aiosmtpd")
	}
	return pyPath
}

// Start runs a server for the test's lifetime.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	py := python(t)
	if opts.User == "" {
		opts.User = "ferry-test"
	}
	if opts.Password == "" {
		opts.Password = "s3cret-Smtp-pass"
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := makeCert(t, dir)
	scriptFile := filepath.Join(dir, "server.py")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	notls := "0"
	if opts.NoTLS {
		notls = "1"
	}
	cmd := exec.Command(py, scriptFile, certFile, keyFile, out, opts.User, opts.Password, notls)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedWriter{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	var p string
	select {
	case p = <-port:
	case <-time.After(60 * time.Second): // a bound on a stuck start, not a speed check
	}
	if p == "" {
		t.Fatalf("aiosmtpd did not start: %s", stderr.String())
	}
	return &Server{Addr: net.JoinHostPort("127.0.0.1", p), RootCAs: pool, User: opts.User, Password: opts.Password, dir: dir}
}

// Messages returns every message accepted so far, in order.
func (s *Server) Messages(t testing.TB) []Received {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(s.dir, "out", "msg-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []Received
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var r Received
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, r)
	}
	return out
}

// AuthAttempt is one AUTH command the server saw.
type AuthAttempt struct {
	Mechanism string `json:"mechanism"`
	TLS       bool   `json:"tls"`
}

// AuthAttempts returns the AUTH commands seen so far.
func (s *Server) AuthAttempts(t testing.TB) []AuthAttempt {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "out", "auth.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []AuthAttempt
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// makeCert writes a self-signed certificate for 127.0.0.1 and localhost.
func makeCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "ferry smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// lockedWriter collects the server's stderr while it runs.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
