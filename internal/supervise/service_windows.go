//go:build windows

package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
	"github.com/ferryhq/ferry/internal/text"
)

// The plain constants of winservice.go must be the service manager's.
var (
	_ = [1]int{}[winServiceAutoStart-windows.SERVICE_AUTO_START]
	_ = [1]int{}[windows.SERVICE_AUTO_START-winServiceAutoStart]
	_ = [1]int{}[winServiceErrorNormal-windows.SERVICE_ERROR_NORMAL]
	_ = [1]int{}[windows.SERVICE_ERROR_NORMAL-winServiceErrorNormal]
	_ = [1]int{}[winActionRestart-windows.SC_ACTION_RESTART]
	_ = [1]int{}[windows.SC_ACTION_RESTART-winActionRestart]
)

// windowsService runs releases through a Windows service hosted by
// ferry-agent (Host). The host writes the PID file for every app process
// it starts, so the agent watches the app itself, as in process mode,
// while the service manager owns the host.
type windowsService struct{ t Target }

func newService(t Target) (Supervisor, error) { return windowsService{t}, nil }

// serviceStartWait bounds how long the agent waits for the host to report
// running and to start the app.
var serviceStartWait = 60 * time.Second

func (w windowsService) Start(ctx context.Context, spec Spec) (proc.Handle, error) {
	bin, err := installAgentBinary(w.t.BinDir)
	if err != nil {
		return proc.Handle{}, err
	}
	cfg := w.t.windowsService(bin, spec.StopTimeout)
	m, err := connectSCM()
	if err != nil {
		return proc.Handle{}, err
	}
	defer m.Disconnect() //nolint:errcheck
	s, err := ensureService(m, cfg, w.t.warn)
	if err != nil {
		return proc.Handle{}, err
	}
	defer s.Close() //nolint:errcheck
	// Whatever the host runs now (a release that crash-loops, or the one a
	// killed deploy started) stops before the host starts again: the host
	// reads the current release when it starts.
	if err := stopService(ctx, s, cfg.StopWait); err != nil {
		return proc.Handle{}, err
	}
	if err := w.t.process().Stop(ctx, spec.StopTimeout); err != nil {
		return proc.Handle{}, err
	}
	if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return proc.Handle{}, fmt.Errorf("start service %s: %w", cfg.Name, err)
	}
	h, err := w.waitHostStarted(ctx, s)
	if err != nil {
		return proc.Handle{}, err
	}
	removeOldAgentBinaries(w.t.BinDir, bin)
	return h, nil
}

func (w windowsService) Current(ctx context.Context) (proc.Handle, bool) {
	return w.t.process().Current(ctx)
}

func (w windowsService) Stop(ctx context.Context, grace time.Duration) error {
	if m, err := connectSCM(); err == nil {
		defer m.Disconnect() //nolint:errcheck
		if s, err := m.OpenService(w.t.Service); err == nil {
			err := stopService(ctx, s, grace+20*time.Second)
			s.Close() //nolint:errcheck
			if err != nil {
				return err
			}
		}
	}
	// An app the host did not get to stop, or one process mode started
	// before this target switched to service mode.
	return w.t.process().Stop(ctx, grace)
}

func (t Target) warn(msg string) {
	if t.Warn != nil {
		t.Warn(msg)
	}
}

func connectSCM() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connect to the service manager (run_as: service needs an administrator or LocalSystem): %w", err)
	}
	return m, nil
}

// ensureService creates the service or brings its configuration up to
// cfg. The configuration is written whole every time rather than read,
// compared and patched: Wine cannot read it back, and on Windows the write
// is cheap.
func ensureService(m *mgr.Mgr, cfg winServiceConfig, warn func(string)) (*mgr.Service, error) {
	if strings.Contains(cfg.CommandLine, "%") {
		// ImagePath is REG_EXPAND_SZ: %NAME% in it would be expanded.
		return nil, fmt.Errorf("service %s: the command line %s holds a %%, which the service manager would expand; choose a root without one", cfg.Name, cfg.CommandLine)
	}
	s, err := m.OpenService(cfg.Name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		h, cerr := windows.CreateService(m.Handle, wstr(cfg.Name), wstr(cfg.DisplayName),
			windows.SERVICE_ALL_ACCESS, windows.SERVICE_WIN32_OWN_PROCESS, cfg.StartType, cfg.ErrorControl,
			wstr(cfg.CommandLine), nil, nil, nil, account(cfg.Account), nil)
		if cerr != nil {
			return nil, fmt.Errorf("create service %s: %w", cfg.Name, cerr)
		}
		s = &mgr.Service{Name: cfg.Name, Handle: h}
	} else if err != nil {
		return nil, fmt.Errorf("open service %s: %w", cfg.Name, err)
	} else {
		if err := windows.ChangeServiceConfig(s.Handle, windows.SERVICE_WIN32_OWN_PROCESS, cfg.StartType, cfg.ErrorControl,
			wstr(cfg.CommandLine), nil, nil, nil, account(cfg.Account), nil, wstr(cfg.DisplayName)); err != nil {
			s.Close() //nolint:errcheck
			return nil, fmt.Errorf("update service %s: %w", cfg.Name, err)
		}
	}
	desc := windows.SERVICE_DESCRIPTION{Description: wstr(cfg.Description)}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DESCRIPTION, (*byte)(unsafe.Pointer(&desc))); err != nil {
		warn(fmt.Sprintf("service %s: set description: %v", cfg.Name, err))
	}
	actions := make([]mgr.RecoveryAction, len(cfg.Recovery))
	for i, a := range cfg.Recovery {
		actions[i] = mgr.RecoveryAction{Type: int(a.Type), Delay: a.Delay}
	}
	if err := s.SetRecoveryActions(actions, uint32(cfg.ResetPeriod/time.Second)); err != nil {
		if !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
			s.Close() //nolint:errcheck
			return nil, fmt.Errorf("service %s: set recovery actions: %w", cfg.Name, err)
		}
		warn(fmt.Sprintf("service %s: this service manager has no recovery actions (%v): the host restarts the app, nothing restarts the host", cfg.Name, err))
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(cfg.RecoverOnErrorExit); err != nil {
		if !errors.Is(err, windows.ERROR_INVALID_LEVEL) {
			s.Close() //nolint:errcheck
			return nil, fmt.Errorf("service %s: set recovery on error exits: %w", cfg.Name, err)
		}
		warn(fmt.Sprintf("service %s: this service manager cannot recover from error exits (%v)", cfg.Name, err))
	}
	return s, nil
}

func wstr(s string) *uint16 {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		return nil // validated names and paths hold no NUL
	}
	return p
}

func account(a string) *uint16 {
	if a == "" {
		return nil // LocalSystem
	}
	return wstr(a)
}

// errHostGone: the service manager refused a stop request in a way that
// means the host is gone without telling it (Wine does not notice a
// service process exiting).
var errHostGone = errors.New("the service host is gone")

// stopService asks the service to stop and waits until it has, up to
// wait; a host that does not stop in time is terminated.
func stopService(ctx context.Context, s *mgr.Service, wait time.Duration) error {
	var st svc.Status
	asked := false
	err := poll.Until(ctx, poll.Backoff{Initial: 50 * time.Millisecond, Deadline: wait}, func(context.Context) (bool, error) {
		var err error
		if st, err = s.Query(); err != nil {
			return false, fmt.Errorf("query service %s: %w", s.Name, err)
		}
		if st.State == svc.Stopped {
			return true, nil
		}
		if st.State == svc.Running && !asked {
			// Asked once it runs: a service still starting cannot
			// accept the request yet.
			asked = true
			_, err := s.Control(svc.Stop)
			switch {
			case err == nil, errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE):
			case errors.Is(err, windows.ERROR_SERVICE_CANNOT_ACCEPT_CTRL):
				asked = false // between states: ask again
			default:
				return false, errHostGone // end it for certain, below
			}
		}
		return false, nil
	})
	if err == nil || !(errors.Is(err, errHostGone) || errors.Is(err, poll.ErrDeadline)) {
		return err
	}
	if st.ProcessId != 0 && int(st.ProcessId) != os.Getpid() {
		if p, err := windows.OpenProcess(windows.PROCESS_TERMINATE|windows.SYNCHRONIZE, false, st.ProcessId); err == nil {
			windows.TerminateProcess(p, 1)         //nolint:errcheck
			windows.WaitForSingleObject(p, 10_000) //nolint:errcheck
			windows.CloseHandle(p)                 //nolint:errcheck
		}
	}
	return nil
}

// waitHostStarted waits for the service to run and its host to record the
// app it started.
func (w windowsService) waitHostStarted(ctx context.Context, s *mgr.Service) (proc.Handle, error) {
	var h proc.Handle
	err := poll.Until(ctx, poll.Backoff{Initial: 20 * time.Millisecond, Deadline: serviceStartWait}, func(context.Context) (bool, error) {
		var err error
		if h, err = proc.ReadPIDFile(w.t.PIDFile); err == nil && h.PID != 0 {
			return true, nil
		}
		st, err := s.Query()
		if err != nil {
			return false, fmt.Errorf("query service %s: %w", s.Name, err)
		}
		if st.State == svc.Stopped {
			return false, fmt.Errorf("service %s stopped at once (exit %d/%d); see %s", s.Name, st.Win32ExitCode, st.ServiceSpecificExitCode, w.hostLogTail())
		}
		return false, nil
	})
	if errors.Is(err, poll.ErrDeadline) {
		return proc.Handle{}, fmt.Errorf("service %s started no app within %s; see %s", s.Name, serviceStartWait, w.hostLogTail())
	}
	return h, err
}

func (w windowsService) hostLogTail() string {
	path := w.t.hostLogPath()
	if lines := text.TailFile(path, 3); len(lines) > 0 {
		return path + ": " + strings.Join(lines, " | ")
	}
	return path
}
