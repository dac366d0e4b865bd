// Package testtool holds what every test package needs when it drives
// real tools: under CI (CI=true) a missing tool fails the test, because a
// skipped test would turn CI green without proving anything; elsewhere the
// test skips, naming the tool.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Missing fails (CI) or skips the test because what is not available;
// why, when given, says more.
func Missing(t testing.TB, what string, why ...any) {
	t.Helper()
	detail := ""
	if len(why) > 0 {
		detail = ": " + fmt.Sprint(why...)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (required under CI=true)%s", what, detail)
	}
	t.Skipf("%s is not installed%s", what, detail)
}

// Need returns the path of tool on PATH, or fails or skips the test.
func Need(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		Missing(t, tool)
	}
	return p
}
