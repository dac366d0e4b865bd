package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitBecomesHealthyAfterStartup(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 4 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"healthy","version":"abc"}`))
	}))
	defer srv.Close()
	res, err := Wait(context.Background(), Check{URL: srv.URL, Status: 200, VersionField: "version", Version: "abc", Deadline: 10 * time.Second, Interval: 50 * time.Millisecond})
	if err != nil || !res.Healthy || res.Attempts != 4 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

func TestWaitRejectsWrongVersion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"healthy","version":"old"}`))
	}))
	defer srv.Close()
	res, err := Wait(context.Background(), Check{URL: srv.URL, Status: 200, VersionField: "version", Version: "new", Deadline: 300 * time.Millisecond, Interval: 50 * time.Millisecond})
	if err == nil || res.Healthy || !strings.Contains(err.Error(), `version is "old", want "new"`) {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

// TestWaitReportsTheAnswerOfASlowApp answers after the deadline, as an
// app does on a loaded machine (or this test's own server does when the
// scheduler is busy): the check still reports what the app answered, not
// "no answer". This is how TestWaitRejectsWrongVersion failed under load.
func TestWaitReportsTheAnswerOfASlowApp(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write([]byte(`{"version":"old"}`))
	}))
	defer srv.Close()
	defer close(release)
	go func() {
		// Answer well after the deadline has passed.
		time.Sleep(200 * time.Millisecond)
		release <- struct{}{}
	}()
	res, err := Wait(context.Background(), Check{URL: srv.URL, Status: 200, VersionField: "version", Version: "new", Deadline: 20 * time.Millisecond, Interval: 10 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), `version is "old", want "new"`) || res.Attempts < 1 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}

func TestWaitStopsWhenProcessExits(t *testing.T) {
	res, err := Wait(context.Background(), Check{URL: "http://127.0.0.1:1/health", Status: 200, Deadline: time.Minute, Interval: time.Second, Alive: func() bool { return false }})
	if !errors.Is(err, ErrExited) || res.Attempts != 1 {
		t.Fatalf("res=%+v err=%v", res, err)
	}
}
