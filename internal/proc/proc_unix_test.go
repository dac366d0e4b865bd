//go:build !windows

package proc

import (
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartDetachedAndStop(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "logs", "app.log")
	// The child traps TERM to prove Stop is graceful first.
	script := `echo started; trap 'echo got-term; exit 0' TERM; while :; do sleep 0.05; done`
	h, err := Start(Spec{Argv: []string{"/bin/sh", "-c", script}, Dir: dir, Env: os.Environ(), LogPath: log})
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(h) {
		t.Fatal("process not alive after start")
	}
	sid, err := unix.Getsid(h.PID)
	if err != nil || sid != h.PID {
		t.Fatalf("process is not a session leader: sid=%d err=%v", sid, err)
	}
	if Alive(Handle{PID: h.PID, StartTime: h.StartTime + 1}) {
		t.Fatal("a handle with another start time must not count as alive (PID reuse)")
	}
	pidfile := filepath.Join(dir, "app.pid")
	if err := WritePIDFile(pidfile, h); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPIDFile(pidfile)
	if err != nil || got.PID != h.PID || got.StartTime != h.StartTime {
		t.Fatalf("pid file round trip: %+v %v", got, err)
	}
	waitFor(t, log, "started")
	if err := Stop(t.Context(), h, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if Alive(h) {
		t.Fatal("still alive after Stop")
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "started") || !strings.Contains(string(b), "got-term") {
		t.Fatalf("log lacks expected lines: %q", b)
	}
}

func TestStopKillsWhatIgnoresTerm(t *testing.T) {
	dir := t.TempDir()
	h, err := Start(Spec{Argv: []string{"/bin/sh", "-c", `trap '' TERM; while :; do sleep 0.05; done`}, Dir: dir, Env: os.Environ(), LogPath: filepath.Join(dir, "a.log")})
	if err != nil {
		t.Fatal(err)
	}
	if err := Stop(t.Context(), h, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if Alive(h) {
		t.Fatal("alive after Stop")
	}
}

func TestStartMissingProgram(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(Spec{Argv: []string{filepath.Join(dir, "nope")}, Dir: dir, LogPath: filepath.Join(dir, "a.log")})
	if err == nil || !strings.Contains(err.Error(), "start nope") {
		t.Fatalf("want a start error naming the program, got %v", err)
	}
}

func waitFor(t *testing.T, path, text string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), text) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never held %q", path, text)
}
