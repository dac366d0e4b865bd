package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/exitcode"
	"github.com/ferryhq/ferry/internal/fail"
	"github.com/ferryhq/ferry/internal/fslink"
	"github.com/ferryhq/ferry/internal/poll"
	"github.com/ferryhq/ferry/internal/proc"
)

// State is the proxy's control file (ROOT/proxy.json): what it listens on
// and which port it forwards to. It is the only way the agent talks to the
// proxy process, and the reason the design is crash-safe: the agent
// replaces the file atomically (WriteState), the proxy rereads it every
// PollInterval and on start, so a proxy killed at any instant and started
// again serves exactly the port the file names, and an agent killed at any
// instant leaves a file that names either the old port or the new one. A
// loopback control endpoint would need a secret to keep other local users
// from switching production, and a signal cannot carry a port on Windows;
// the file needs neither, and its directory is already the agent's.
type State struct {
	// Serial grows with each write (Apply sets it), so that a writer can
	// wait for the proxy to report it applied this version (WaitApplied).
	Serial int64 `json:"serial"`
	// Listen is the address users reach (":8000").
	Listen string `json:"listen"`
	// Active is the port new requests go to; 0 answers 503.
	Active int `json:"active"`
	// Release names the release on Active, for people and status.
	Release string `json:"release,omitempty"`
	// Previous is the port of the release kept running for a rollback by
	// switch (0: none); the proxy drains it but does not stop it.
	Previous int `json:"previous,omitempty"`
	// PreviousRelease names the release on Previous.
	PreviousRelease string   `json:"previous_release,omitempty"`
	Drain           Duration `json:"drain,omitempty"`
	TLS             *TLS     `json:"tls,omitempty"`
	// Health turns on the proxy's own HealthPath.
	Health bool `json:"health,omitempty"`
	// TrustForwarded keeps a front proxy's X-Forwarded-* (Config).
	TrustForwarded bool `json:"trust_forwarded,omitempty"`
	MaxHeaderBytes int  `json:"max_header_bytes,omitempty"`
}

// TLS names the certificate pair, absolute paths (the agent resolves
// shared/ before it writes the file).
type TLS struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
}

// Duration is a time.Duration written as Go writes it ("30s").
type Duration time.Duration

// MarshalJSON writes "30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("duration %s is negative", s)
	}
	*d = Duration(v)
	return nil
}

// Config is the proxy configuration the state describes.
func (s State) Config() Config {
	c := Config{Listen: s.Listen, Drain: time.Duration(s.Drain), Health: s.Health, TrustForwarded: s.TrustForwarded, MaxHeaderBytes: s.MaxHeaderBytes}
	if s.TLS != nil {
		c.CertFile, c.KeyFile = s.TLS.CertFile, s.TLS.KeyFile
	}
	return c
}

func (s State) validate() error {
	if s.Listen == "" {
		return errors.New("listen is empty")
	}
	for _, p := range []int{s.Active, s.Previous} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("port %d is out of range", p)
		}
	}
	if s.TLS != nil && (s.TLS.CertFile == "" || s.TLS.KeyFile == "") {
		return errors.New("tls needs both cert_file and key_file")
	}
	return nil
}

// ReadState reads and checks the control file; unknown fields are refused
// (a newer agent's file is not half understood).
func ReadState(path string) (State, error) {
	var s State
	b, err := fslink.ReadFile(path)
	if err != nil {
		return s, err
	}
	return parseState(path, b)
}

func parseState(path string, b []byte) (State, error) {
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("proxy state %s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return s, fmt.Errorf("proxy state %s: %w", path, err)
	}
	return s, nil
}

// WriteState replaces the control file atomically and durably.
func WriteState(path string, s State) error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("proxy state: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fslink.WriteFile(path, append(b, '\n'), 0o644)
}

// Apply changes the control file with change (on a zero State when there
// is none yet), gives it the next serial and writes it; it returns what it
// wrote. The caller holds the deploy lock, so there is one writer.
func Apply(path string, change func(*State)) (State, error) {
	s, err := ReadState(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return s, err
	}
	change(&s)
	s.Serial++
	return s, WriteState(path, s)
}

// Status is what a running proxy reports in ROOT/proxy.status.json after
// each change it applied: proof for the agent that a switch took effect
// (WaitApplied), and what `status` can show.
type Status struct {
	PID int `json:"pid"`
	// StartTime with PID identifies the process across PID reuse.
	StartTime uint64 `json:"start_time"`
	// Listen is the address really listened on (a port 0 resolved).
	Listen  string `json:"listen"`
	Serial  int64  `json:"serial"`
	Active  int    `json:"active"`
	Release string `json:"release,omitempty"`
	// Draining lists the ports still finishing requests after a switch.
	Draining []int     `json:"draining,omitempty"`
	Updated  time.Time `json:"updated"`
	// Error is the last problem reading the control file (the proxy
	// keeps serving what it applied before).
	Error string `json:"error,omitempty"`
}

// StatusPath is where the proxy controlled by statePath reports.
func StatusPath(statePath string) string {
	return strings.TrimSuffix(statePath, filepath.Ext(statePath)) + ".status.json"
}

// ReadStatus reads a proxy's status file.
func ReadStatus(statePath string) (Status, error) {
	var st Status
	b, err := fslink.ReadFile(StatusPath(statePath))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("proxy status: %w", err)
	}
	return st, nil
}

// Alive reports whether the process that wrote st still runs.
func (st Status) Alive() bool {
	return proc.Alive(proc.Handle{PID: st.PID, StartTime: st.StartTime})
}

// WaitApplied waits until a live proxy reports the control file's serial
// (or a later one) applied, up to timeout: after it returns nil, new
// requests go where that version of the file says.
func WaitApplied(ctx context.Context, statePath string, serial int64, timeout time.Duration) (Status, error) {
	return waitStatus(ctx, statePath, serial, timeout, func(Status) error { return nil })
}

// waitStatus is WaitApplied with a check of its own, which ends the wait
// early with its error.
func waitStatus(ctx context.Context, statePath string, serial int64, timeout time.Duration, check func(Status) error) (Status, error) {
	var st Status
	err := poll.Until(ctx, poll.Backoff{Initial: 5 * time.Millisecond, Factor: 1.5, Max: 100 * time.Millisecond, Deadline: timeout}, func(context.Context) (bool, error) {
		var err error
		st, err = ReadStatus(statePath)
		if cerr := check(st); cerr != nil {
			return false, cerr
		}
		return err == nil && st.Serial >= serial && st.Alive(), nil
	})
	var f *fail.Error
	if errors.As(err, &f) {
		return st, err
	}
	if err != nil {
		return st, fail.New(exitcode.Failed, fmt.Errorf("the proxy did not apply %s (serial %d) within %s: %w", filepath.Base(statePath), serial, timeout, err),
			"look at the proxy's log and whether `ferry-proxy --config "+statePath+"` runs")
	}
	return st, nil
}

// PollInterval is how often a running proxy rereads its control file: the
// delay between the agent's write and the switch, at the price of one
// small read.
const PollInterval = 20 * time.Millisecond

// RunOptions are the inputs of Run.
type RunOptions struct {
	// StatePath is the control file (ROOT/proxy.json).
	StatePath string
	// Log receives the proxy's lines; nil is the standard logger.
	Log *log.Logger
	// Poll overrides PollInterval (tests).
	Poll time.Duration
}

// Run is the proxy process: it reads the control file, listens, serves the
// port it names, and follows every change of the file (switch, then drain
// the old port in the background) until ctx ends, when it shuts down
// gracefully. Changes of anything but the ports (listen, tls, limits) need
// a restart and are reported, not applied; the certificate files
// themselves are reread on change.
func Run(ctx context.Context, opts RunOptions) error {
	lg := opts.Log
	if lg == nil {
		lg = log.Default()
	}
	every := opts.Poll
	if every <= 0 {
		every = PollInterval
	}
	raw, err := fslink.ReadFile(opts.StatePath)
	if err != nil {
		return fail.New(exitcode.Usage, fmt.Errorf("proxy: %w", err), "the agent writes the control file before it starts the proxy")
	}
	st, err := parseState(opts.StatePath, raw)
	if err != nil {
		return fail.New(exitcode.Usage, err)
	}
	cfg := st.Config()
	cfg.ErrorLog = lg
	p, err := New(cfg, st.Active)
	if err != nil {
		return fail.New(exitcode.Failed, err, "check proxy.tls: cert_file and key_file must name a certificate and its key")
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fail.New(exitcode.Failed, fmt.Errorf("proxy: listen on %s: %w", cfg.Listen, err), "is another proxy or program listening on that address?")
	}
	r := &runner{p: p, path: opts.StatePath, log: lg, applied: st, draining: map[int]bool{}}
	r.status = Status{PID: os.Getpid(), StartTime: proc.StartTimeOf(os.Getpid()), Listen: l.Addr().String()}
	r.report()
	lg.Printf("proxy: listening on %s, forwarding to port %d (serial %d)", l.Addr(), st.Active, st.Serial)

	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- p.Serve(serveCtx, l) }()

	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-served:
			return fail.New(exitcode.Failed, fmt.Errorf("proxy: %w", err))
		case <-ctx.Done():
			lg.Printf("proxy: shutting down")
			stopServe()
			return <-served
		case <-tick.C:
		}
		b, err := fslink.ReadFile(opts.StatePath)
		if err == nil && bytes.Equal(b, raw) {
			continue
		}
		if err == nil {
			raw = b
			var next State
			if next, err = parseState(opts.StatePath, b); err == nil {
				r.apply(ctx, next)
				continue
			}
		}
		if r.setProblem(err.Error()) {
			lg.Printf("proxy: %v (still serving port %d)", err, p.Active())
			r.report()
		}
	}
}

type runner struct {
	p       *Proxy
	path    string
	log     *log.Logger
	applied State

	mu       sync.Mutex
	status   Status
	draining map[int]bool
	// problem is the last error reading the control file, until a good
	// version is applied.
	problem string
}

// setProblem records the control file's problem and says whether it is
// a new one (to be logged and reported once).
func (r *runner) setProblem(p string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.problem == p {
		return false
	}
	r.problem = p
	return true
}

func (r *runner) apply(ctx context.Context, next State) {
	r.mu.Lock()
	prev := r.applied
	r.mu.Unlock()
	if next.Listen != prev.Listen || !equalTLS(next.TLS, prev.TLS) || next.Health != prev.Health || next.TrustForwarded != prev.TrustForwarded || next.MaxHeaderBytes != prev.MaxHeaderBytes || next.Drain != prev.Drain {
		r.log.Printf("proxy: listen, tls, health, trust_forwarded, max_header_bytes and drain take effect when the proxy restarts; applying the ports only")
	}
	// Switch first, then record next as applied, under the lock report
	// takes: a status that names next's serial names its port too, even
	// when a drain's goroutine writes it in between.
	old := 0
	if next.Active != 0 && next.Active != r.p.Active() {
		old = r.p.Switch(next.Active)
		r.log.Printf("proxy: switched from port %d to %d (%s, serial %d)", old, next.Active, next.Release, next.Serial)
	}
	r.mu.Lock()
	r.applied = next
	r.problem = ""
	if old != 0 {
		r.draining[old] = true
	}
	r.mu.Unlock()
	if old != 0 {
		go func() {
			res := r.p.Drain(ctx, old)
			if res.Cut > 0 {
				r.log.Printf("proxy: drained port %d after %s, cut %d requests still running", old, res.Waited.Round(time.Millisecond), res.Cut)
			} else if !res.Active {
				r.log.Printf("proxy: drained port %d in %s", old, res.Waited.Round(time.Millisecond))
			}
			r.mu.Lock()
			delete(r.draining, old)
			r.mu.Unlock()
			r.report()
		}()
	}
	r.report()
}

// report writes the status file. A failure to write it is logged: the
// proxy keeps serving, and the agent's WaitApplied will say it did not
// hear back.
func (r *runner) report() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Serial, r.status.Active, r.status.Release = r.applied.Serial, r.p.Active(), r.applied.Release
	r.status.Draining = r.status.Draining[:0]
	for port := range r.draining {
		if port != r.status.Active {
			r.status.Draining = append(r.status.Draining, port)
		}
	}
	r.status.Updated = time.Now().UTC()
	r.status.Error = r.problem
	b, _ := json.MarshalIndent(r.status, "", "  ")
	if err := fslink.WriteFile(StatusPath(r.path), append(b, '\n'), 0o644); err != nil {
		r.log.Printf("proxy: %v", err)
	}
}

func equalTLS(a, b *TLS) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// EnsureOptions say how to find and start the proxy process.
type EnsureOptions struct {
	// Argv starts the proxy: ferry-proxy's path, "--config", the
	// control file.
	Argv []string
	// StatePath is the control file, PIDPath where the running proxy's
	// handle is kept, LogPath where its output is appended.
	StatePath, PIDPath, LogPath string
	// Timeout bounds the wait for a started proxy to report (10s).
	Timeout time.Duration
}

// Ensure is the supervision of the proxy in process mode: every agent
// operation calls it (under the lock), and it starts the proxy detached
// when the handle in PIDPath names no live process, then waits for it to
// report the control file's serial. A proxy that crashed is so restarted
// at the next operation at the latest, on the port the control file names.
// (In service mode the service host keeps it running instead.) It returns
// whether it started one.
func Ensure(ctx context.Context, opts EnsureOptions) (started bool, err error) {
	if h, err := proc.ReadPIDFile(opts.PIDPath); err == nil && proc.Alive(h) {
		return false, nil
	}
	st, err := ReadState(opts.StatePath)
	if err != nil {
		return false, err
	}
	h, err := proc.Start(proc.Spec{Argv: opts.Argv, Dir: filepath.Dir(opts.StatePath), Env: proxyEnv(os.Environ()), LogPath: opts.LogPath})
	if err != nil {
		return false, fmt.Errorf("start the proxy: %w", err)
	}
	if err := proc.WritePIDFile(opts.PIDPath, h); err != nil {
		return true, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	_, err = waitStatus(ctx, opts.StatePath, st.Serial, timeout, func(status Status) error {
		if status.PID == h.PID {
			return nil
		}
		if !proc.Alive(h) {
			return fail.New(exitcode.Failed, fmt.Errorf("the proxy exited at start"), "its log says why: "+opts.LogPath)
		}
		if status.PID != 0 && status.Alive() {
			return fail.New(exitcode.Failed, fmt.Errorf("another proxy (pid %d) reports on %s", status.PID, StatusPath(opts.StatePath)))
		}
		return nil
	})
	return true, err
}

// proxyEnv is the agent's environment without what the long-lived proxy
// must not carry: the spec (it may hold secrets, and the proxy outlives the
// operation) and the fault injection meant for the agent.
func proxyEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "FERRY_AGENT_SPEC=") || strings.HasPrefix(kv, "FERRY_AGENT_FAULT=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
