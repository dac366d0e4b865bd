package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/notify"
	"github.com/ferryhq/ferry/internal/poll"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

var (
	started  = time.Date(2026, 12, 1, 10, 0, 0, 0, berlin)
	finished = started.Add(2*time.Minute + 5*time.Second)
	sha      = "0123456789abcdef0123456789abcdef01234567"
)

func preMessage() notify.Message {
	return notify.Message{
		Event: notify.Start, App: "billing", Environment: "production", SHA: sha, Ref: "main",
		Deployer: "Ada Lovelace <ada@example.com>", Approvers: []string{"Grace Hopper"},
		Started: started, Estimate: 3 * time.Minute,
		Changes:  []string{"Fix invoice rounding", "Ping <!channel> & friends"},
		Location: berlin,
	}
}

func postMessage(e notify.Event) notify.Message {
	m := preMessage()
	m.Event, m.Finished, m.Duration = e, finished, finished.Sub(started)
	m.Health = "healthy: 200 from /health in 140ms"
	if e != notify.Success {
		m.Error, m.Hints = "health check failed: 503 from /health", []string{"read shared/logs/app.log on the server"}
	}
	return m
}

// request is one request a hook received.
type request struct {
	Header http.Header
	Body   []byte
	Path   string
}

// hook is a loopback webhook receiver; answer decides each response
// (n counts from 1); nil answers 200 "ok".
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []request
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newHook(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *hook {
	t.Helper()
	h := &hook{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, request{Header: r.Header.Clone(), Body: body, Path: r.URL.RequestURI()})
		n := len(h.reqs)
		h.mu.Unlock()
		if h.answer != nil {
			h.answer(n, w, r)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) requests() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]request(nil), h.reqs...)
}

// logs collects Logf lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// fastOptions retries at once, so tests wait for nothing but the servers.
func fastOptions(env map[string]string, l *logs) notify.Options {
	o := notify.Options{
		Getenv:  func(k string) string { return env[k] },
		Backoff: poll.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond},
		Now:     func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) },
	}
	if l != nil {
		o.Logf = l.logf
	}
	return o
}

func newNotifier(t *testing.T, chs []notify.Channel, o notify.Options) *notify.Notifier {
	t.Helper()
	n, err := notify.New(chs, o)
	if err != nil {
		t.Fatalf("new notifier: %v", err)
	}
	return n
}

func sendOne(t *testing.T, n *notify.Notifier, m notify.Message) notify.Result {
	t.Helper()
	rs := n.Send(context.Background(), m)
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1: %v", len(rs), rs)
	}
	return rs[0]
}

// hmacHex is HMAC-SHA256 as a receiver computes it, without ferry's code.
func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
