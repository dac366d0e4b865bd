package proc

import (
	"net"
	"os"
	"testing"
)

// TestListenerNamesThisProcess listens on a port and asks who does.
func TestListenerNamesThisProcess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid, program, ok := Listener(l.Addr().(*net.TCPAddr).Port)
	if !ok || pid != os.Getpid() || program == "" {
		t.Fatalf("Listener = %d %q %v, want %d", pid, program, ok, os.Getpid())
	}
	if _, _, ok := Listener(1); ok {
		t.Fatal("nothing listens on port 1")
	}
}
