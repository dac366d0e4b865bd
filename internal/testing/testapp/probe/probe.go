// Package probe is the test side of internal/testing/testapp: a free
// loopback port to give it and a client for its /health answer, shared by
// the tests of the app itself and of the packages that start it.
package probe

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Body is testapp's /health answer.
type Body struct {
	Status    string `json:"status"`
	Version   string `json:"version"`
	Timestamp string `json:"timestamp"`
	PID       int    `json:"pid"`
	ChildPID  int    `json:"child_pid"`
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// Health asks the app on port for /health and decodes its JSON answer.
func Health(port string) (int, Body, error) {
	var b Body
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + port + "/health")
	if err != nil {
		return 0, b, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return resp.StatusCode, b, fmt.Errorf("content type %q", ct)
	}
	err = json.NewDecoder(resp.Body).Decode(&b)
	return resp.StatusCode, b, err
}
