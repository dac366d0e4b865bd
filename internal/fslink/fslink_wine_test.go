//go:build linux

package fslink

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/testing/winetest"
)

func TestMain(m *testing.M) { os.Exit(winetest.Main(m)) }

// TestWindowsUnitTestsUnderWine runs fslink_windows_test.go as a Windows
// test binary: long paths, the junction fallback and the hard links
// against a real Windows API implementation.
func TestWindowsUnitTestsUnderWine(t *testing.T) {
	w := winetest.Shared(t)
	exe := winetest.BuildTest(t, "github.com/ferryhq/ferry/internal/fslink")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := w.Run(ctx, exe, []string{"-test.v", "-test.run", "^TestWin"}, winetest.RunOptions{Dir: t.TempDir(), Env: []string{testDirEnv + "=" + winetest.WinPath(t.TempDir())}})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Stdout) + string(res.Stderr)
	if res.ExitCode != 0 {
		t.Fatalf("windows unit tests failed (exit %d):\n%s", res.ExitCode, out)
	}
	for _, name := range []string{"TestWinWriteAndReadFile", "TestWinPoint", "TestWinShare", "TestWinWritePrivate", "TestWinLock"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass:\n%s", name, out)
		}
	}
	t.Logf("under %s:\n%s", w.Version, out)
}
