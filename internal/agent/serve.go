package agent

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/health"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// The steps of the serve phase, shared by deploy and rollback: they move
// the target from o.from to o.to.

// stop ends what serves now and waits for its port to be free: with one
// port, the next release cannot listen before.
func stop(ctx context.Context, o *op) error {
	addr := o.healthAddr(o.state.find(o.to))
	if _, running := o.sup.Current(ctx); !running {
		if addr != "" && portTaken(addr) {
			return portHeld(addr)
		}
		return skip("no process running")
	}
	o.stopped = true
	if err := o.sup.Stop(ctx, o.stopTimeoutOf(o.state.find(o.from))); err != nil {
		return err
	}
	if addr != "" && !waitPortFree(ctx, addr, 5*time.Second) {
		return fmt.Errorf("port %s is still in use after the old release stopped", addr)
	}
	return nil
}

// switchCurrent makes o.to current: state.json first, which is the truth,
// then the `current` link.
func switchCurrent(_ context.Context, o *op) error {
	o.state.Previous = o.state.Current
	o.state.Current = o.to
	if o.built {
		o.state.set(o.to, StatusStarting, "")
	}
	if err := o.saveState(); err != nil {
		return err
	}
	o.switched = true
	o.crashAt("switch:state-saved")
	if err := o.l.pointCurrent(o.to); err != nil {
		return fmt.Errorf("point current at %s: %w", o.to, err)
	}
	return nil
}

// start runs o.to's app through the supervisor.
func start(ctx context.Context, o *op) error {
	h, err := o.startRelease(ctx, o.state.find(o.to))
	o.handle = h
	return err
}

// proveHealthy proves o.to healthy and records that it serves.
func proveHealthy(ctx context.Context, o *op) error {
	if err := o.checkRelease(ctx, o.handle, o.state.find(o.to)); err != nil {
		return err
	}
	o.served()
	return nil
}

// served records that o.to proved healthy: a release this operation built
// is healthy now; the one a rollback left says why it no longer serves.
func (o *op) served() {
	if o.built {
		o.state.set(o.to, StatusHealthy, "")
	} else if r := o.state.find(o.from); r != nil && o.from != o.to {
		r.Reason = "rolled back to " + o.to
		if o.spec.MarkBad != "" {
			o.state.set(o.from, StatusBad, o.spec.MarkBad+"; rolled back to "+o.to)
			r.RolledBack = true
		}
		// A release a person named again proved healthy just now.
		if t := o.state.find(o.to); t != nil && t.RolledBack {
			t.Status, t.Reason, t.RolledBack = StatusHealthy, "", false
		}
	}
	if err := o.saveState(); err != nil {
		o.warn(err.Error())
	}
}

// restorePrevious is the restore step of both plans: o.from is current
// again, started with its own recorded command, and must prove healthy.
func restorePrevious(ctx context.Context, o *op) error {
	prev := o.state.find(o.from)
	o.state.Current, o.state.Previous = o.from, o.to
	if err := o.saveState(); err != nil {
		return err
	}
	if err := o.l.pointCurrent(o.from); err != nil {
		return err
	}
	h, err := o.startRelease(ctx, prev)
	if err != nil {
		return err
	}
	if err := o.checkRelease(ctx, h, prev); err != nil {
		return fmt.Errorf("previous release %s is not healthy either: %w", o.from, err)
	}
	return nil
}

// startRelease starts release r's app as it records it runs.
func (o *op) startRelease(ctx context.Context, r *Release) (proc.Handle, error) {
	spec, err := o.appSpec(r)
	if err != nil {
		return proc.Handle{}, err
	}
	return o.sup.Start(ctx, spec)
}

// checkRelease waits until the started process answers healthy with r's
// SHA; a process that exits meanwhile fails it at once.
func (o *op) checkRelease(ctx context.Context, h proc.Handle, r *Release) error {
	hs := o.runOf(r).Health
	c := health.Check{
		URL: o.healthURL(r), Status: hs.Status,
		VersionField: hs.VersionField, Version: r.SHA,
		Deadline: hs.Deadline, Interval: hs.Interval,
		Alive: func() bool { return proc.Alive(h) },
	}
	res, err := health.Wait(ctx, c)
	if err != nil {
		return err
	}
	o.emit(Event{Event: EventLog, Msg: fmt.Sprintf("healthy after %d attempts in %s: %s", res.Attempts, res.Elapsed.Round(time.Millisecond), res.Last)})
	return nil
}

// healthAddr is the host:port of release r's health URL when it is on
// this machine, "" otherwise.
func (o *op) healthAddr(r *Release) string {
	u, err := url.Parse(o.healthURL(r))
	if err != nil {
		return ""
	}
	host := u.Hostname()
	if host != "127.0.0.1" && host != "localhost" && host != "::1" {
		return "" // not this machine's port: nothing to check
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(host, port)
}

// portHeld is the error for a port that a process ferry did not start
// holds: it names that process when this machine can tell.
func portHeld(addr string) error {
	_, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	who := "a process ferry did not start"
	stop := "stop that process"
	if pid, program, ok := proc.Listener(port); ok {
		who = fmt.Sprintf("pid %d (%s), a process ferry did not start", pid, cmp.Or(program, "unknown program"))
		stop = fmt.Sprintf("stop pid %d", pid)
	}
	return fail.Hint(fmt.Errorf("port %s is already in use by %s", addr, who),
		stop+", or give the app another port (env: and health.url in ferry.yml)")
}

func portTaken(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitPortFree reports whether addr stops accepting connections within d.
func waitPortFree(ctx context.Context, addr string, d time.Duration) bool {
	b := poll.Backoff{Initial: 50 * time.Millisecond, Deadline: d}
	return poll.Until(ctx, b, func(context.Context) (bool, error) { return !portTaken(addr), nil }) == nil
}
