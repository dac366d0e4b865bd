// Command testapp stands in for a Python web application in the tests that
// cannot run Python: on Windows (under Wine) no Python can be installed
// offline, so the process-management code is exercised against this small
// Go server instead. It honours ferry's /health contract and has knobs to
// misbehave, so that failure paths (a crash at start, an unhealthy answer, a
// process that ignores the polite stop, a process tree) can be tested with
// real processes.
//
// Environment:
//
//	PORT                    port on 127.0.0.1 (default 8000)
//	APP_VERSION             version reported by /health; else FERRY_SHA (set by
//	                        ferry); else ./VERSION or ./REVISION; else "unknown"
//	TESTAPP_FAIL=exit       exit 3 at once
//	TESTAPP_FAIL=unhealthy  answer /health with 503
//	TESTAPP_IGNORE_SIGNALS=1  ignore Ctrl-Break / SIGINT / SIGTERM
//	TESTAPP_CHILD=1         start a child process (this program again, as
//	                        TESTAPP_ROLE=child) and report its PID in /health
//	TESTAPP_CHILD_PORT      port on which the child answers /health, so a
//	                        test can see from outside whether it still runs
//
// On Ctrl-Break (Windows) or SIGTERM/SIGINT (Unix) it prints "stopping",
// shuts the server down and exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

// out serialises log lines: stdout and stderr may share one file handle.
var outMu sync.Mutex

func logf(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Fprintf(os.Stdout, "%s testapp[%d] %s\n", time.Now().UTC().Format(time.RFC3339Nano), os.Getpid(), fmt.Sprintf(format, args...))
}

func run() int {
	sigs := make(chan os.Signal, 4)
	// Notify rather than Ignore even when ignoring: on Windows an ignored
	// console event falls through to the default handler, which ends the
	// process; a handled one does not.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ignore := os.Getenv("TESTAPP_IGNORE_SIGNALS") == "1"

	if os.Getenv("TESTAPP_ROLE") == "child" {
		return runChild(sigs, ignore)
	}
	if os.Getenv("TESTAPP_FAIL") == "exit" {
		logf("failing at start as asked (TESTAPP_FAIL=exit)")
		return 3
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8000"
	}
	version := appVersion()
	unhealthy := os.Getenv("TESTAPP_FAIL") == "unhealthy"

	childPID := 0
	if os.Getenv("TESTAPP_CHILD") == "1" {
		pid, err := startChild()
		if err != nil {
			logf("start child: %v", err)
			return 1
		}
		childPID = pid
		logf("child pid %d", pid)
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		logf("listen: %v", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		status, code := "healthy", http.StatusOK
		if unhealthy {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
		body := map[string]any{
			"status":    status,
			"version":   version,
			"timestamp": time.Now().UTC().Format(time.RFC3339),
			"pid":       os.Getpid(),
		}
		if childPID != 0 {
			body["child_pid"] = childPID
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body) //nolint:errcheck
	})
	srv := &http.Server{
		Handler:           logRequests(mux),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logf("listening on %s version %s", ln.Addr(), version)

	for {
		select {
		case err := <-served:
			logf("serve: %v", err)
			return 1
		case s := <-sigs:
			if ignore {
				logf("ignoring signal %v", s)
				continue
			}
			logf("stopping (signal %v)", s)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := srv.Shutdown(ctx)
			cancel()
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				logf("shutdown: %v", err)
			}
			logf("stopped")
			return 0
		}
	}
}

func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logf("request %s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		h.ServeHTTP(w, r)
	})
}

// appVersion prefers APP_VERSION, then a VERSION file in the working
// directory, as a release directory would carry one.
func appVersion() string {
	if v := os.Getenv("APP_VERSION"); v != "" {
		return v
	}
	if v := os.Getenv("FERRY_SHA"); v != "" {
		return v
	}
	for _, name := range []string{"VERSION", "REVISION"} {
		if b, err := os.ReadFile(name); err == nil {
			if v := strings.TrimSpace(string(b)); v != "" {
				return v
			}
		}
	}
	return "unknown"
}

// startChild runs this program again as a child that only waits, so tests
// can check that stopping the app also ends the processes it started.
func startChild() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "TESTAPP_ROLE=child")
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start child: %w", err)
	}
	go cmd.Wait() //nolint:errcheck
	return cmd.Process.Pid, nil
}

func runChild(sigs <-chan os.Signal, ignore bool) int {
	if port := os.Getenv("TESTAPP_CHILD_PORT"); port != "" {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			logf("child listen: %v", err)
			return 1
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"status": "child", "pid": os.Getpid()}) //nolint:errcheck
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln) //nolint:errcheck
	}
	logf("child running")
	for s := range sigs {
		if ignore {
			logf("child ignoring signal %v", s)
			continue
		}
		logf("child stopping (signal %v)", s)
		return 0
	}
	return 0
}
