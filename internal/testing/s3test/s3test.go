// Package s3test runs an in-process S3 server on loopback for tests:
// gofakes3 over its in-memory backend, behind a small middleware that
// makes S3's conditional writes atomic and counts requests.
//
// Why the middleware: gofakes3 (v0.0.12) evaluates If-None-Match and
// If-Match on PutObject, but it checks and then writes in two steps, and
// its in-memory backend does not re-check under its lock, so two
// concurrent "create only if absent" writes can both succeed (a narrow
// window, but a test of "never overwrites" must not pass by luck) —
// which real S3 never allows (one gets 412 PreconditionFailed, or 409
// ConditionalRequestConflict while the other is in flight). The
// middleware serializes every conditional PUT, which makes gofakes3's
// own check-then-write atomic, as S3 documents it. Production code sends
// the real header and relies on S3; only the test server needs help.
package s3test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

// Server is a running S3 server with one bucket (Bucket) at URL.
type Server struct {
	URL    string
	Bucket string
	// Client is an SDK client pointed at the server (path style, dummy keys).
	Client *s3.Client
	// Backend is the in-memory storage, for seeding and tampering with
	// objects behind the server's back.
	Backend *s3mem.Backend

	mu      sync.Mutex
	counts  map[string]int
	condMu  sync.Mutex
	faults  []fault
	handler http.Handler
}

type fault struct {
	// status answers a conditional PUT without storing (409), or after
	// storing (500: the request landed, the answer was lost).
	status int
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Bucket: "ferry-test", Backend: s3mem.New(), counts: map[string]int{}}
	if err := s.Backend.CreateBucket(context.Background(), s.Bucket); err != nil {
		t.Fatal(err)
	}
	s.handler = gofakes3.New(s.Backend).Server()
	srv := httptest.NewServer(s) // httptest listens on 127.0.0.1
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.Client = s.NewClient()
	return s
}

// NewClient returns another SDK client for the server (each writer in a
// concurrency test has its own, as separate processes would).
func (s *Server) NewClient() *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// Count returns how many requests of an operation arrived: ListObjectsV2,
// GetObject, PutObject, HeadObject or Other.
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// ResetCounts zeroes every count.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
}

// FailConditional queues an answer for the next conditional PUT: 409
// answers ConditionalRequestConflict without storing; 500 stores the
// object and then answers InternalError, as when a response is lost.
func (s *Server) FailConditional(status int) {
	s.condMu.Lock()
	s.faults = append(s.faults, fault{status})
	s.condMu.Unlock()
}

func op(r *http.Request) string {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	object := len(parts) == 2 && parts[1] != ""
	switch {
	case r.Method == http.MethodGet && !object && r.URL.Query().Get("list-type") == "2":
		return "ListObjectsV2"
	case r.Method == http.MethodGet && object:
		return "GetObject"
	case r.Method == http.MethodPut && object:
		return "PutObject"
	case r.Method == http.MethodHead && object:
		return "HeadObject"
	}
	return "Other"
}

// ServeHTTP counts the request and serializes conditional writes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o := op(r)
	s.mu.Lock()
	s.counts[o]++
	s.mu.Unlock()
	conditional := o == "PutObject" && (r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Match") != "")
	if !conditional {
		s.handler.ServeHTTP(w, r)
		return
	}
	s.condMu.Lock()
	defer s.condMu.Unlock()
	var f fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	}
	switch f.status {
	case http.StatusConflict:
		writeError(w, http.StatusConflict, "ConditionalRequestConflict", "A conflicting operation occurred. If using PutObject you can retry the request.")
	case http.StatusInternalServerError:
		s.handler.ServeHTTP(discard{h: http.Header{}}, r)
		writeError(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	default:
		s.handler.ServeHTTP(w, r)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + msg + `</Message></Error>`))
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
