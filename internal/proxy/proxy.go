// Package proxy is the reverse proxy that lets a deploy replace a release
// without a moment in which users' requests fail: it listens on the address
// users reach and forwards every request to one backend port on loopback;
// a deploy starts the new release on the idle port, health-checks it there
// directly, and only then calls Switch, which moves new requests to it at
// once while the requests already in flight to the old release finish
// (Drain) before the old release is stopped.
//
// The package is standard library only (net/http/httputil does the
// forwarding), as the agent's packages are. It runs as ferry-proxy, a
// program of its own beside ferry-agent: its HTTP and TLS server code
// would put the agent over its 3 MB download. See docs/proxy.md for the
// design and what remains to be wired.
package proxy

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HealthPath is the proxy's own health endpoint, answered by the proxy
// itself (never forwarded) when Config.Health is on.
const HealthPath = "/_ferry/health"

// Defaults for the zero values of Config.
const (
	DefaultDrain             = 30 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultBackendHost       = "127.0.0.1"
)

// Config says how the proxy listens and forwards. The zero value of each
// field is its default.
type Config struct {
	// Listen is the address users reach (":8000").
	Listen string
	// BackendHost is where the releases listen; loopback by default, so
	// the app's ports need not be reachable from outside.
	BackendHost string
	// Drain bounds how long Drain waits for in-flight requests to an old
	// backend before cutting them (DefaultDrain).
	Drain time.Duration
	// TrustForwarded keeps the X-Forwarded-* headers a client sent (the
	// proxy's own values are appended to X-Forwarded-For) instead of
	// replacing them: only for a proxy that sits behind another one
	// (a load balancer) that sets them honestly. Default: replace, so a
	// client cannot claim another address.
	TrustForwarded bool
	// Health answers HealthPath from the proxy itself.
	Health bool
	// CertFile and KeyFile turn on TLS; the pair is reread when either
	// file changes (see certReloader).
	CertFile, KeyFile string
	// MaxHeaderBytes is the hard limit on a request's header block;
	// larger requests get 431 (DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// ReadHeaderTimeout and IdleTimeout protect the listener from slow
	// and idle clients. There is no write timeout: responses may stream
	// for as long as the app streams them.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// ErrorLog receives the proxy's and the server's errors; nil is the
	// standard logger.
	ErrorLog *log.Logger
}

func (c Config) withDefaults() Config {
	if c.BackendHost == "" {
		c.BackendHost = DefaultBackendHost
	}
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ErrorLog == nil {
		c.ErrorLog = log.Default()
	}
	return c
}

// Proxy forwards to one backend at a time. Its methods are safe for
// concurrent use.
type Proxy struct {
	cfg    Config
	certs  *certReloader
	active atomic.Pointer[backend]

	mu       sync.Mutex
	backends map[int]*backend // the active one and those still draining

	srv *http.Server
}

// backend is one release's port with its own connection pool, so that
// dropping a stopped release's idle connections touches no other.
type backend struct {
	port      int
	transport *http.Transport
	rp        *httputil.ReverseProxy
	inflight  atomic.Int64
	idle      chan struct{} // signalled (non-blocking) when inflight drops to 0
	cut       context.Context
	cutNow    context.CancelFunc
}

// New makes a proxy that will forward to port (0: nothing yet; requests get
// 503 until the first Switch). It loads the TLS pair when one is given, so
// a wrong path fails here rather than at the first handshake.
func New(cfg Config, port int) (*Proxy, error) {
	cfg = cfg.withDefaults()
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("proxy tls: give both cert_file and key_file")
	}
	p := &Proxy{cfg: cfg, backends: map[int]*backend{}}
	if cfg.CertFile != "" {
		c, err := newCertReloader(cfg.CertFile, cfg.KeyFile, cfg.ErrorLog)
		if err != nil {
			return nil, err
		}
		p.certs = c
	}
	if port != 0 {
		p.Switch(port)
	}
	p.srv = &http.Server{
		Handler:           p,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          cfg.ErrorLog,
	}
	if p.certs != nil {
		p.srv.TLSConfig = &tls.Config{GetCertificate: p.certs.get, MinVersion: tls.VersionTLS12}
	}
	return p, nil
}

func (p *Proxy) newBackend(port int) *backend {
	target := &url.URL{Scheme: "http", Host: net.JoinHostPort(p.cfg.BackendHost, strconv.Itoa(port))}
	tr := &http.Transport{
		Proxy:                 nil, // never an HTTP_PROXY from the environment
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	b := &backend{port: port, transport: tr, idle: make(chan struct{}, 1)}
	b.cut, b.cutNow = context.WithCancel(context.Background())
	trust := p.cfg.TrustForwarded
	b.rp = &httputil.ReverseProxy{
		Transport: tr,
		// Flush every write at once: server-sent events and other
		// streamed responses reach the client as the app writes them.
		FlushInterval: -1,
		ErrorLog:      p.cfg.ErrorLog,
		Rewrite: func(r *httputil.ProxyRequest) {
			// Rewrite has already dropped the client's X-Forwarded-*
			// from r.Out; a trusted front proxy's are put back first.
			if trust {
				for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
					if v := r.In.Header.Values(h); len(v) > 0 {
						r.Out.Header[h] = v
					}
				}
			}
			host, proto := r.Out.Header.Get("X-Forwarded-Host"), r.Out.Header.Get("X-Forwarded-Proto")
			r.SetURL(target)
			r.SetXForwarded() // appends the client's address to a kept X-Forwarded-For
			if trust && host != "" {
				r.Out.Header.Set("X-Forwarded-Host", host)
			}
			if trust && proto != "" {
				r.Out.Header.Set("X-Forwarded-Proto", proto)
			}
			// The app sees the Host the user asked for, as without a proxy.
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) && b.cut.Err() != nil {
				p.cfg.ErrorLog.Printf("proxy: request %s %s to port %d cut after the drain timeout", r.Method, r.URL.Path, port)
			} else if !errors.Is(err, context.Canceled) {
				p.cfg.ErrorLog.Printf("proxy: %s %s to port %d: %v", r.Method, r.URL.Path, port, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return b
}

// acquire returns the active backend with this request counted in flight
// on it. Counting first and checking second closes the race with Switch:
// a request that loaded the old backend just before a switch either is
// counted before Drain looks, or sees the switch and moves to the new one.
func (p *Proxy) acquire() *backend {
	for {
		b := p.active.Load()
		if b == nil {
			return nil
		}
		b.inflight.Add(1)
		if p.active.Load() == b {
			return b
		}
		b.release()
	}
}

func (b *backend) release() {
	if b.inflight.Add(-1) == 0 {
		select {
		case b.idle <- struct{}{}:
		default:
		}
	}
}

// ServeHTTP forwards r to the active backend.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.cfg.Health && r.URL.Path == HealthPath {
		p.serveHealth(w)
		return
	}
	b := p.acquire()
	if b == nil {
		http.Error(w, "no release is serving yet", http.StatusServiceUnavailable)
		return
	}
	defer b.release()
	// A request still running when its backend's drain times out is cut
	// (its context cancelled, which also closes an upgraded connection).
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(b.cut, cancel)
	defer stop()
	b.rp.ServeHTTP(w, r.WithContext(ctx))
}

func (p *Proxy) serveHealth(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	port := p.Active()
	status := http.StatusOK
	if port == 0 {
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"status": http.StatusText(status), "backend_port": port})
}

// Active is the port new requests go to (0 before the first Switch).
func (p *Proxy) Active() int {
	if b := p.active.Load(); b != nil {
		return b.port
	}
	return 0
}

// Switch sends every request that arrives after it returns to port, and
// returns the port it replaces (0 when there was none). Requests already
// forwarded to the old port continue there; Drain waits for them.
// Switching back to a port that is still draining reuses it, so a rollback
// during a drain is a switch like any other.
func (p *Proxy) Switch(port int) (previous int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.backends[port]
	if !ok || b.cut.Err() != nil {
		b = p.newBackend(port)
		p.backends[port] = b
	}
	if old := p.active.Swap(b); old != nil {
		return old.port
	}
	return 0
}

// DrainResult says how a drain ended.
type DrainResult struct {
	Port int `json:"port"`
	// Waited is how long Drain waited for the in-flight requests.
	Waited time.Duration `json:"waited"`
	// Cut is the number of requests still in flight when the drain
	// timeout ran out, whose connections were closed.
	Cut int `json:"cut"`
	// Active is set when port was the active backend again (a switch
	// back), so nothing was drained.
	Active bool `json:"active,omitempty"`
}

// Drain waits until no request is in flight to port, at most the drain
// timeout, then cuts what remains and drops the port's idle connections;
// the old release may be stopped once it returns. ctx ending stops the wait
// early and cuts too (the proxy is shutting down).
func (p *Proxy) Drain(ctx context.Context, port int) DrainResult {
	start := time.Now()
	p.mu.Lock()
	b := p.backends[port]
	p.mu.Unlock()
	if b == nil {
		return DrainResult{Port: port}
	}
	if p.active.Load() == b {
		return DrainResult{Port: port, Active: true}
	}
	timer := time.NewTimer(p.cfg.Drain)
	defer timer.Stop()
	for b.inflight.Load() > 0 {
		select {
		case <-b.idle:
		case <-timer.C:
			return p.retire(b, start)
		case <-ctx.Done():
			return p.retire(b, start)
		}
		if p.active.Load() == b {
			return DrainResult{Port: port, Active: true, Waited: time.Since(start)}
		}
	}
	return p.retire(b, start)
}

// retire cuts what still runs on b and forgets it, unless a switch made it
// active again meanwhile.
func (p *Proxy) retire(b *backend, start time.Time) DrainResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	res := DrainResult{Port: b.port, Waited: time.Since(start)}
	if p.active.Load() == b {
		res.Active = true
		return res
	}
	res.Cut = int(b.inflight.Load())
	b.cutNow()
	b.transport.CloseIdleConnections()
	if p.backends[b.port] == b {
		delete(p.backends, b.port)
	}
	return res
}

// InFlight is the number of requests being forwarded to port now.
func (p *Proxy) InFlight(port int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.backends[port]; b != nil {
		return int(b.inflight.Load())
	}
	return 0
}

// Serve accepts connections on l until ctx ends, then shuts down: it stops
// accepting, waits up to the drain timeout for requests in flight, and cuts
// the rest. It returns nil after a shutdown asked for by ctx.
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() {
		if p.certs != nil {
			errc <- p.srv.ServeTLS(l, "", "")
		} else {
			errc <- p.srv.Serve(l)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), p.cfg.Drain)
	defer cancel()
	err := p.srv.Shutdown(sctx)
	p.mu.Lock()
	for _, b := range p.backends {
		b.cutNow()
		b.transport.CloseIdleConnections()
	}
	p.mu.Unlock()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-errc
	return nil
}

// ListenAndServe listens on Config.Listen and serves until ctx ends.
func (p *Proxy) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("proxy: listen on %s: %w", p.cfg.Listen, err)
	}
	return p.Serve(ctx, l)
}
