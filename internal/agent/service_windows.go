//go:build windows

package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/proc"
)

// The plain constants of service.go must be the service manager's.
var (
	_ = [1]int{}[winServiceAutoStart-windows.SERVICE_AUTO_START]
	_ = [1]int{}[windows.SERVICE_AUTO_START-winServiceAutoStart]
	_ = [1]int{}[winServiceErrorNormal-windows.SERVICE_ERROR_NORMAL]
	_ = [1]int{}[windows.SERVICE_ERROR_NORMAL-winServiceErrorNormal]
	_ = [1]int{}[winActionRestart-windows.SC_ACTION_RESTART]
	_ = [1]int{}[windows.SC_ACTION_RESTART-winActionRestart]
)

func init() {
	newServiceSupervisor = func() supervisor { return windowsService{} }
}

// windowsService runs releases through a Windows service hosted by
// ferry-agent (see service.go). The host writes run/app.pid for every app
// process it starts, so the agent watches the app itself, as in process
// mode, while the service manager owns the host.
type windowsService struct{}

// serviceStartWait bounds how long the agent waits for the host to report
// running and to start the app.
var serviceStartWait = 60 * time.Second

func (windowsService) start(o *op, r *Release) (proc.Handle, error) {
	bin, err := installAgentBinary(o.l)
	if err != nil {
		return proc.Handle{}, err
	}
	cfg := windowsServiceConfig(o.spec.App, o.spec.Environment, o.l.root, bin, o.stopTimeoutOf(r))
	m, err := connectSCM()
	if err != nil {
		return proc.Handle{}, err
	}
	defer m.Disconnect() //nolint:errcheck
	s, err := ensureService(m, cfg, o.warn)
	if err != nil {
		return proc.Handle{}, err
	}
	defer s.Close() //nolint:errcheck
	// Whatever the host runs now (a release that crash-loops, or the one a
	// killed deploy started) stops before the host starts again: the host
	// reads the current release when it starts.
	if err := stopService(s, cfg.StopWait); err != nil {
		return proc.Handle{}, err
	}
	if err := (processSupervisor{}).stop(o, o.stopTimeoutOf(r)); err != nil {
		return proc.Handle{}, err
	}
	if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return proc.Handle{}, fmt.Errorf("start service %s: %w", cfg.Name, err)
	}
	h, err := waitHostStarted(o, s, cfg.Name)
	if err != nil {
		return proc.Handle{}, err
	}
	removeOldAgentBinaries(o.l, bin)
	return h, nil
}

func (windowsService) current(o *op) (proc.Handle, bool) {
	return processSupervisor{}.current(o)
}

func (windowsService) stop(o *op, grace time.Duration) error {
	name := serviceName(o.spec.App, o.spec.Environment)
	if m, err := connectSCM(); err == nil {
		defer m.Disconnect() //nolint:errcheck
		if s, err := m.OpenService(name); err == nil {
			err := stopService(s, grace+20*time.Second)
			s.Close() //nolint:errcheck
			if err != nil {
				return err
			}
		}
	}
	// An app the host did not get to stop, or one process mode started
	// before this target switched to service mode.
	return processSupervisor{}.stop(o, grace)
}

func (windowsService) alive(o *op, h proc.Handle) bool { return proc.Alive(h) }

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

// stopService asks the service to stop and waits until it has, up to
// wait; a host that does not stop in time is terminated.
func stopService(s *mgr.Service, wait time.Duration) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query service %s: %w", s.Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	deadline := time.Now().Add(wait)
	asked := false
	for {
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
				// The host is gone without telling the service manager
				// (Wine does not notice a service process exiting):
				// end it for certain, below.
				deadline = time.Now()
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
		if st, err = s.Query(); err != nil {
			return fmt.Errorf("query service %s: %w", s.Name, err)
		}
		if st.State == svc.Stopped {
			return nil
		}
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
func waitHostStarted(o *op, s *mgr.Service, name string) (proc.Handle, error) {
	deadline := time.Now().Add(serviceStartWait)
	for time.Now().Before(deadline) {
		if h, err := proc.ReadPIDFile(o.l.pidFile()); err == nil && h.PID != 0 {
			return h, nil
		}
		st, err := s.Query()
		if err != nil {
			return proc.Handle{}, fmt.Errorf("query service %s: %w", name, err)
		}
		if st.State == svc.Stopped {
			return proc.Handle{}, fmt.Errorf("service %s stopped at once (exit %d/%d); see %s", name, st.Win32ExitCode, st.ServiceSpecificExitCode, hostLogTail(o, name))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return proc.Handle{}, fmt.Errorf("service %s started no app within %s; see %s", name, serviceStartWait, hostLogTail(o, name))
}

func hostLogTail(o *op, name string) string {
	path := serviceLogPath(o.l.root, name)
	if lines := tailFile(path, 3); len(lines) > 0 {
		return path + ": " + strings.Join(lines, " | ")
	}
	return path
}

// serveService runs the host under the service manager when it started
// this process, and in the foreground otherwise. Asking the service
// manager is the test: StartServiceCtrlDispatcher fails at once with
// ERROR_FAILED_SERVICE_CONTROLLER_CONNECT in a process it did not start
// (svc.IsWindowsService's parent-process heuristic is not needed).
func serveService(opts ServiceHostOptions, log *hostLog, stderr io.Writer) int {
	err := svc.Run(opts.Name, &serviceHandler{opts: opts, log: log})
	if err == nil {
		return exitcode.OK
	}
	if !errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		log.printf("service dispatcher: %v", err)
		return exitcode.Failed
	}
	log.echo = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log.printf("service host %s for %s (foreground)", opts.Name, opts.Root)
	if err := runHost(ctx, opts, log); err != nil {
		log.printf("service host failed: %v", err)
		return exitcode.Failed
	}
	return exitcode.OK
}

// serviceHandler answers the service manager for the host.
type serviceHandler struct {
	opts ServiceHostOptions
	log  *hostLog
}

// stopHint is the wait hint while stopping: the host reports progress
// every second, and each report restarts the service manager's clock.
const stopHint = 10 * time.Second

// Execute runs the host until the service manager asks it to stop (or the
// machine shuts down). An error of the host ends the service with a
// service-specific exit code, which the recovery actions act on.
func (h *serviceHandler) Execute(args []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	h.log.printf("service host %s for %s (pid %d)", h.opts.Name, h.opts.Root, os.Getpid())
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runHost(ctx, h.opts, h.log) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	finish := func(err error) (bool, uint32) {
		if err != nil {
			h.log.printf("service host failed: %v", err)
			return true, 1
		}
		return false, 0
	}
	for {
		select {
		case err := <-done:
			return finish(err)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				h.log.printf("service manager asks to stop")
				cancel()
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				cp := uint32(1)
				status <- svc.Status{State: svc.StopPending, CheckPoint: cp, WaitHint: uint32(stopHint / time.Millisecond)}
				for {
					select {
					case err := <-done:
						return finish(err)
					case <-tick.C:
						cp++
						status <- svc.Status{State: svc.StopPending, CheckPoint: cp, WaitHint: uint32(stopHint / time.Millisecond)}
					}
				}
			}
		}
	}
}
