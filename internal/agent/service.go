package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fslink"
)

// Service mode (run_as: service) hands the app to the operating system's
// service manager, which restarts it when it dies and starts it at boot:
//
//   - Windows: a service whose program is ferry-agent itself, run as
//     `ferry-agent service run --root R --name N --environment E` (the
//     service host, service_host.go). The host reads state.json, starts the
//     current release exactly as process mode would (appSpec) and
//     supervises it; the agent creates and reconfigures the service through
//     the service control manager (service_windows.go).
//   - Linux: a systemd unit whose ExecStart is the release's own command
//     (service_systemd.go, service_linux.go).
//
// This file holds what both need and what can be checked on any platform:
// names, the Windows service's configuration as plain data, and the copy
// of the agent binary the service runs.

// serviceName names the Windows service or the systemd unit (plus
// ".service") of one app in one environment. Spec validation keeps both
// parts to [A-Za-z0-9_.-], which both service managers accept.
func serviceName(app, env string) string {
	if env == "" {
		return "ferry-" + app
	}
	return "ferry-" + app + "-" + env
}

// Windows service manager constants, as plain numbers so the configuration
// can be built and tested on any platform (service_windows.go checks them
// against golang.org/x/sys/windows at compile time).
const (
	winServiceAutoStart   = 2 // SERVICE_AUTO_START
	winServiceErrorNormal = 1 // SERVICE_ERROR_NORMAL
	winActionRestart      = 1 // SC_ACTION_RESTART
)

// winRecoveryAction is one SC_ACTION: what the service manager does after
// the service's Nth failure (the last one repeats).
type winRecoveryAction struct {
	Type  uint32
	Delay time.Duration
}

// winServiceConfig is everything ferry sets on a Windows service, built
// by a pure function so that it is tested where the service manager is
// not available (Wine 8 stores the binary path and start type but ignores
// recovery actions).
type winServiceConfig struct {
	Name        string
	DisplayName string
	Description string
	// CommandLine is the service's ImagePath: the program quoted (an
	// unquoted program path with spaces is a known privilege-escalation
	// hole) and the arguments as CommandLineToArgvW reads them.
	CommandLine  string
	StartType    uint32
	ErrorControl uint32
	// Account is the service's logon account; "" is LocalSystem, the
	// account SSM runs the agent as, which can read and write the root.
	Account string
	// Recovery restarts the host when it crashes or ends with an error;
	// the host restarts the app itself, with backoff, for the app's own
	// crashes.
	Recovery    []winRecoveryAction
	ResetPeriod time.Duration
	// RecoverOnErrorExit applies Recovery also when the host stops itself
	// with a non-zero exit code (state.json unreadable), not only when it
	// crashes.
	RecoverOnErrorExit bool
	// StopWait is how long the agent waits for the service to stop before
	// it ends the host by force.
	StopWait time.Duration
}

// serviceHostArgs is the host's command line after the program.
func serviceHostArgs(root, name, env string) []string {
	return []string{"service", "run", "--root", root, "--name", name, "--environment", env}
}

// windowsServiceConfig is the service of app in env under root, run by the
// agent binary at bin.
func windowsServiceConfig(app, env, root, bin string, stopTimeout time.Duration) winServiceConfig {
	name := serviceName(app, env)
	display := "ferry " + app
	if env != "" {
		display += " (" + env + ")"
	}
	if stopTimeout <= 0 {
		stopTimeout = defaultStop
	}
	return winServiceConfig{
		Name:        name,
		DisplayName: display,
		Description: fmt.Sprintf("Runs the current release of %s from %s; managed by ferry-agent, changed on every deploy.", app, root),
		CommandLine: windowsCommandLine(append([]string{bin}, serviceHostArgs(root, name, env)...)),
		StartType:   winServiceAutoStart, ErrorControl: winServiceErrorNormal,
		Recovery: []winRecoveryAction{
			{Type: winActionRestart, Delay: 5 * time.Second},
			{Type: winActionRestart, Delay: 15 * time.Second},
			{Type: winActionRestart, Delay: time.Minute},
		},
		ResetPeriod:        24 * time.Hour,
		RecoverOnErrorExit: true,
		StopWait:           stopTimeout + 20*time.Second,
	}
}

// windowsCommandLine joins argv so that CommandLineToArgvW (and Go's
// os.Args on Windows) read it back word for word. The program is always
// quoted. Inside quotes, backslashes are literal except before a quote:
// 2n backslashes and a quote read as n backslashes and the closing quote,
// so a run of backslashes before a quote is doubled, and a quote in the
// text is escaped with one more backslash.
func windowsCommandLine(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 && a != "" && !strings.ContainsAny(a, " \t\n\v\"") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('"')
		slashes := 0
		for j := 0; j < len(a); j++ {
			c := a[j]
			switch c {
			case '\\':
				slashes++
			case '"':
				b.WriteString(strings.Repeat(`\`, slashes+1))
				slashes = 0
			default:
				slashes = 0
			}
			b.WriteByte(c)
		}
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}

// agentBinDir holds the copies of ferry-agent that services run. The
// agent itself may run from a download cache that gets cleaned, and a
// running executable cannot be replaced on Windows; a copy named after its
// content is never overwritten while it runs, and a new agent version gets
// a new name.
func agentBinDir(l layout) string { return filepath.Join(l.root, "bin") }

// agentBinaryName is the copy's name for an executable whose SHA-256 is
// sum (hex).
func agentBinaryName(sum string) string {
	return "ferry-agent-" + sum[:12] + ".exe"
}

// installAgentBinary copies the running executable into agentBinDir
// unless the same content is already there, and returns the copy's path.
func installAgentBinary(l layout) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the agent executable: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("read the agent executable: %w", err)
	}
	h := sha256.New()
	size, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hash the agent executable: %w", err)
	}
	dst := filepath.Join(agentBinDir(l), agentBinaryName(hex.EncodeToString(h.Sum(nil))))
	if st, err := os.Stat(dst); err == nil && st.Size() == size {
		return dst, nil
	}
	if err := os.MkdirAll(agentBinDir(l), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", dst, os.Getpid())
	os.Remove(tmp)
	if err := fslink.Copy(exe, tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		if st, serr := os.Stat(dst); serr == nil && st.Size() == size {
			return dst, nil // a concurrent copy won
		}
		return "", fmt.Errorf("install agent binary: %w", err)
	}
	return dst, nil
}

// removeOldAgentBinaries deletes the copies no service runs any more; one
// still running cannot be deleted on Windows, and is left for next time.
func removeOldAgentBinaries(l layout, keep string) {
	old, _ := filepath.Glob(filepath.Join(agentBinDir(l), "ferry-agent-*.exe"))
	for _, p := range old {
		if !strings.EqualFold(p, keep) {
			os.Remove(p)
		}
	}
}
