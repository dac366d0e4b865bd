//go:build linux

package proxy_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/proxy"
	"github.com/ferryhq/ferry/internal/testing/winetest"
)

// TestWineProxyServesAndSwitches: ferry-proxy.exe, under Wine,
// serves the port its control file names and follows a change of the file
// (written from Linux, read by the Windows build through fslink.ReadFile).
func TestWineProxyServesAndSwitches(t *testing.T) {
	winetest.Require(t)
	w := winetest.Shared(t)
	exe := winetest.Build(t, "github.com/ferryhq/ferry/cmd/ferry-proxy")
	root := t.TempDir()
	a, b := namedServer(t, "a"), namedServer(t, "b")
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	url := "http://" + listen + "/"
	statePath := filepath.Join(root, "proxy.json")
	s, err := proxy.Apply(statePath, func(s *proxy.State) { *s = proxy.State{Listen: listen, Active: a, Drain: proxy.Duration(time.Second)} })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logf, _ := os.Create(filepath.Join(root, "proxy.log"))
	cmd := w.Command(ctx, exe, "--config", winetest.WinPath(statePath))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("proxy log:\n%s", log)
		}
	})
	// The status's PID is a Windows one, which this side cannot check:
	// wait for the serial alone.
	waitSerial := func(serial int64) proxy.Status {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, err := proxy.ReadStatus(statePath)
			if err == nil && st.Serial >= serial {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("the proxy under Wine never reported serial %d: %+v %v", serial, st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSerial(s.Serial)
	client := &http.Client{}
	if got := body(t, client, url); got != "a" {
		t.Fatalf("under Wine the proxy answered %q, want a", got)
	}
	s, err = proxy.Apply(statePath, func(s *proxy.State) { s.Previous, s.Active = s.Active, b })
	if err != nil {
		t.Fatal(err)
	}
	if st := waitSerial(s.Serial); st.Active != b {
		t.Fatalf("status: %+v", st)
	}
	if got := body(t, client, url); got != "b" {
		t.Fatalf("after the switch under Wine the proxy answered %q, want b", got)
	}
}
