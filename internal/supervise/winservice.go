package supervise

import (
	"fmt"
	"strings"
	"time"
)

// The Windows service's configuration as plain data, built and tested on
// every platform: the service manager that would take it is only on
// Windows, and Wine 8 stores only part of it.

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

// hostArgs is the service host's command line after the program: what
// ferry-agent's `service run` reads back into a Host.
func hostArgs(root, name, env string) []string {
	return []string{"service", "run", "--root", root, "--name", name, "--environment", env}
}

// windowsService is t's service, run by the agent binary at bin.
func (t Target) windowsService(bin string, stopTimeout time.Duration) winServiceConfig {
	display := "ferry " + t.App
	if t.Environment != "" {
		display += " (" + t.Environment + ")"
	}
	if stopTimeout <= 0 {
		stopTimeout = DefaultStopTimeout
	}
	return winServiceConfig{
		Name:        t.Service,
		DisplayName: display,
		Description: fmt.Sprintf("Runs the current release of %s from %s; managed by ferry-agent, changed on every deploy.", t.App, t.Root),
		CommandLine: windowsCommandLine(append([]string{bin}, hostArgs(t.Root, t.Service, t.Environment)...)),
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
