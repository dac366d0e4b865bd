//go:build windows

package supervise

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"

	"github.com/ferryhq/ferry/internal/exitcode"
)

// serve runs the host under the service manager when it started this
// process, and in the foreground otherwise. Asking the service
// manager is the test: StartServiceCtrlDispatcher fails at once with
// ERROR_FAILED_SERVICE_CONTROLLER_CONNECT in a process it did not start
// (svc.IsWindowsService's parent-process heuristic is not needed).
func (h Host) serve(log *hostLog, stderr io.Writer) int {
	err := svc.Run(h.Target.Service, &serviceHandler{host: h, log: log})
	if err == nil {
		return exitcode.OK
	}
	if !errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		log.printf("service dispatcher: %v", err)
		return exitcode.Failed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return h.foreground(ctx, log, stderr)
}

// serviceHandler answers the service manager for the host.
type serviceHandler struct {
	host Host
	log  *hostLog
}

// stopHint is the wait hint while stopping: the host reports progress
// every second, and each report restarts the service manager's clock.
const stopHint = 10 * time.Second

// Execute runs the host until the service manager asks it to stop (or the
// machine shuts down). An error of the host ends the service with a
// service-specific exit code, which the recovery actions act on.
func (h *serviceHandler) Execute(args []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	h.log.printf("service host %s for %s (pid %d)", h.host.Target.Service, h.host.Target.Root, os.Getpid())
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.host.run(ctx, h.log) }()
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
