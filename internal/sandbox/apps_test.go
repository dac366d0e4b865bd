package sandbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ferryconfig "github.com/ferryhq/ferry/internal/config"
	"github.com/ferryhq/ferry/internal/sandbox"
)

// The ferry.yml a sandbox writes is valid, names every instance and the
// rollout asked for, and each instance gets a port of its own in the env
// file that configuration names.
func TestFerryYMLAndPorts(t *testing.T) {
	t.Parallel()
	sb := start(t, sandbox.Options{Instances: 3})
	yml := sb.FerryYML("hello", sandbox.Rollout{MaxConcurrency: "2"})
	cfg, err := ferryconfig.Parse("ferry.yml", []byte(yml))
	if err != nil {
		t.Fatalf("the sandbox's ferry.yml is invalid: %v\n%s", err, yml)
	}
	env := cfg.Environments["sandbox"]
	if env == nil || env.Target != ferryconfig.TargetSSM || env.Root != "~/hello" || cfg.EnvFile != ".env" {
		t.Fatalf("environment: %+v", env)
	}
	if env.SSM.Bucket != sb.Bucket || len(env.SSM.InstanceIDs) != 3 || env.SSM.Rollout.MaxConcurrency != "2" || env.SSM.Rollout.MaxErrors != "0" {
		t.Fatalf("ssm: %+v", env.SSM)
	}
	ports, err := sb.GivePorts("hello")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, in := range sb.Instances {
		port := ports[in.ID]
		if port < 20000 || port >= 32000 || seen[port] {
			t.Errorf("%s: port %d is outside 20000-32000 or given twice", in.ID, port)
		}
		seen[port] = true
		b, err := os.ReadFile(filepath.Join(in.Dir, "hello", "shared", ".env"))
		if err != nil || string(b) != fmt.Sprintf("PORT=%d\n", port) {
			t.Errorf("%s: env file %q, %v", in.ID, b, err)
		}
	}
	if !strings.Contains(sb.Environment("app", sandbox.Rollout{}), "root: ~/app\n") {
		t.Error("Environment ignores its root")
	}
}
