package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The doctor op on this machine: every check is there and passes for a
// writable root, and a missing root is reported as created later; a
// 32-bit PowerShell is told apart by WOW64's variable.
func TestDoctorOp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "app")
	spec := Spec{Protocol: Protocol, Op: OpDoctor, Root: root, App: "app", Environment: "test", Python: "none"}
	res := Run(context.Background(), spec, Options{})
	if res.ExitCode != 0 || res.AgentVersion == "" {
		t.Fatalf("doctor: %+v", res)
	}
	names := map[string]Check{}
	for _, c := range res.Doctor {
		names[c.Name] = c
	}
	for _, n := range []string{"agent", "root", "python", "disk", "account"} {
		if c, ok := names[n]; !ok || !c.OK {
			t.Errorf("check %s: %+v", n, c)
		}
	}
	if !strings.Contains(names["root"].Detail, "does not exist yet") {
		t.Errorf("root: %+v", names["root"])
	}
	if _, err := os.Stat(root); err == nil {
		t.Error("the doctor op created the root")
	}
	if runtime.GOOS == "windows" {
		if _, ok := names["long paths"]; !ok {
			t.Error("no long paths check on Windows")
		}
	}

	env := map[string]string{"PROCESSOR_ARCHITECTURE": "x86", "PROCESSOR_ARCHITEW6432": "AMD64"}
	if c := ps64(func(k string) string { return env[k] }); c.OK || c.Fix == "" {
		t.Errorf("a 32-bit PowerShell passes: %+v", c)
	}
	env = map[string]string{"PROCESSOR_ARCHITECTURE": "AMD64"}
	if c := ps64(func(k string) string { return env[k] }); !c.OK {
		t.Errorf("a 64-bit PowerShell fails: %+v", c)
	}
}

// A root that cannot be written fails with what to do (a file where its
// parent directory should be: refused even to root).
func TestDoctorRootNotWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if c := rootCheck(filepath.Join(file, "app")); c.OK || c.Fix == "" {
		t.Errorf("unwritable root: %+v", c)
	}
}
