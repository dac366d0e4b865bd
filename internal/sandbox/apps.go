package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/proc"
)

// The instances of a sandbox share this machine, so each app needs a port
// of its own; these helpers give the ports, the env files that carry
// them, the ferry.yml that deploys to the instances and the clean-up, in
// one place for ferry sandbox, ferry demo and the end-to-end tests.

// FreePort finds a loopback port for an app below the usual ephemeral
// range (32768 and up), where the kernel hands out client ports: a port
// picked there may be taken by some connection before the app binds it.
// A port is handed out once per process, so apps started side by side
// never get the same one.
func FreePort() (int, error) {
	usedPortsMu.Lock()
	defer usedPortsMu.Unlock()
	for range 500 {
		port := 20000 + rand.IntN(12000)
		if usedPorts[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		usedPorts[port] = true
		return port, nil
	}
	return 0, errors.New("find a free port: none free between 20000 and 32000")
}

var (
	usedPortsMu sync.Mutex
	usedPorts   = map[int]bool{}
)

// GivePorts gives app a port of its own on every instance: it writes
// PORT=<port> to the instance's ~/APP/shared/.env, which the agent hands
// to the app (env_file: .env), and returns the ports by instance ID.
func (s *Sandbox) GivePorts(app string) (map[string]int, error) {
	ports := map[string]int{}
	for _, in := range s.Instances {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		env := filepath.Join(in.Dir, app, "shared", ".env")
		if err := os.MkdirAll(filepath.Dir(env), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(env, []byte(fmt.Sprintf("PORT=%d\n", port)), 0o600); err != nil {
			return nil, err
		}
		ports[in.ID] = port
	}
	return ports, nil
}

// Rollout is SSM's rate control for the sandbox environment.
type Rollout struct {
	// MaxConcurrency and MaxErrors as in ferry.yml; empty means "1" and "0".
	MaxConcurrency, MaxErrors string
}

// Environment is the environments: section of a ferry.yml that deploys
// to every instance of s through SSM, as environment "sandbox" with root
// ~/ROOT: per instance, since each has its own HOME.
func (s *Sandbox) Environment(root string, r Rollout) string {
	if r.MaxConcurrency == "" {
		r.MaxConcurrency = "1"
	}
	if r.MaxErrors == "" {
		r.MaxErrors = "0"
	}
	var ids []string
	for _, in := range s.Instances {
		ids = append(ids, in.ID)
	}
	return fmt.Sprintf(`environments:
  sandbox:
    target: ssm
    root: ~/%s
    ssm:
      region: %s
      bucket: %s
      instance_ids: [%s]
      execution_timeout: 10m
      rollout:
        max_concurrency: %q
        max_errors: %q
`, root, s.Region, s.Bucket, strings.Join(ids, ", "), r.MaxConcurrency, r.MaxErrors)
}

// FerryYML is a complete ferry.yml for app (python app.py, serving
// /health with the deployed SHA as version, on the PORT that GivePorts
// wrote) deployed to every instance under ~/APP.
func (s *Sandbox) FerryYML(app string, r Rollout) string {
	return AppYML(app) + s.Environment(app, r)
}

// AppYML is FerryYML without its environments: what a sandbox
// environment section (Environment, or ferry sandbox's printed one)
// completes.
func AppYML(app string) string {
	return fmt.Sprintf(`# Each instance's ~/%s/shared/.env holds its own PORT: the instances
# share this machine.
app: %s
start: python app.py
requirements: requirements.txt
python: python3
pip:
  no_index: true
env_file: .env
health:
  url: http://127.0.0.1:${PORT}/health
  version_field: version
  deadline: 60s
  interval: 200ms
`, app, app)
}

// StopApps stops the apps the instances started: they run detached, as
// on a server, and would outlive the sandbox.
func (s *Sandbox) StopApps() {
	for _, in := range s.Instances {
		pids, _ := filepath.Glob(filepath.Join(in.Dir, "*", "run", "app.pid"))
		for _, p := range pids {
			if h, err := proc.ReadPIDFile(p); err == nil && proc.Alive(h) {
				proc.Stop(context.Background(), h, 5*time.Second)
			}
		}
	}
}
