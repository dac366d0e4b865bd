package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// load is a loopback load generator: conc clients POSTing (POST, so that
// Go's client never silently retries a request on a closed connection and
// hides a failure) as fast as answers come, each result recorded with the
// phase it started in.
type load struct {
	url  string
	conc int

	mu      sync.Mutex
	phase   string
	lat     map[string][]time.Duration
	failed  map[string]int
	example map[string]string
}

func newLoad(url string, conc int) *load {
	return &load{url: url, conc: conc, lat: map[string][]time.Duration{}, failed: map[string]int{}, example: map[string]string{}}
}

func (l *load) setPhase(p string) { l.mu.Lock(); l.phase = p; l.mu.Unlock() }

func (l *load) run(stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: l.conc}, Timeout: 30 * time.Second}
	for range l.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				res, err := client.Post(l.url, "text/plain", strings.NewReader("ping"))
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != 200 {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				d := time.Since(t0)
				l.mu.Lock()
				// A request that began before the phase changed and ended
				// after belongs to the new phase: it met the switch.
				phase := l.phase
				if err != nil {
					l.failed[phase]++
					if l.example[phase] == "" {
						l.example[phase] = err.Error()
					}
				} else {
					l.lat[phase] = append(l.lat[phase], d)
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(time.Millisecond) // a refused connection returns at once
				}
			}
		}()
	}
	return &wg
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// benchBackend is a release stand-in on a fixed port that can be stopped
// gracefully and started again on the same port (today's stop-and-start).
type benchBackend struct {
	port int
	srv  *http.Server
}

func benchHandler(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	io.WriteString(w, "ok")
}

func (bb *benchBackend) start(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(bb.port))
	if err != nil {
		b.Fatal(err)
	}
	bb.port = l.Addr().(*net.TCPAddr).Port
	bb.srv = &http.Server{Handler: http.HandlerFunc(benchHandler), ErrorLog: log.New(io.Discard, "", 0)}
	go bb.srv.Serve(l)
}

func (bb *benchBackend) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bb.srv.Shutdown(ctx) // graceful, as ferry's stop: in-flight requests finish
}

// BenchmarkSwitchUnderLoad keeps 8 clients' requests flowing and measures,
// in one run: a steady phase through the proxy; 25 switches through the
// proxy between two running backends (20 "deploys" and 5 "rollbacks",
// each switch followed by the old port's drain); and, for comparison, the
// same load straight at one backend that is stopped gracefully and started
// again on the same port 25 times (today's stop-and-start, in its best
// case: the new process listens the instant the old one is gone, where a
// real app takes its start-up time). It reports the failed requests and
// the p99 latency of each phase, and p99 during switches over steady.
//
//	go test -run '^$' -bench SwitchUnderLoad -benchtime 1x ./internal/proxy/
func BenchmarkSwitchUnderLoad(b *testing.B) {
	const conc, switches = 8, 25
	steadyFor := 500 * time.Millisecond
	gap := 20 * time.Millisecond // between switches, so load runs on each side
	for range b.N {
		one, two := &benchBackend{}, &benchBackend{}
		one.start(b)
		two.start(b)
		p, err := New(Config{ErrorLog: log.New(io.Discard, "", 0)}, one.port)
		if err != nil {
			b.Fatal(err)
		}
		pl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go p.Serve(ctx, pl)

		ld := newLoad("http://"+pl.Addr().String()+"/", conc)
		ld.setPhase("steady")
		stop := make(chan struct{})
		wg := ld.run(stop)
		time.Sleep(steadyFor)
		ld.setPhase("switch")
		ports := []int{one.port, two.port}
		for i := 1; i <= switches; i++ {
			prev := p.Switch(ports[i%2])
			p.Drain(context.Background(), prev)
			time.Sleep(gap)
		}
		close(stop)
		wg.Wait()
		cancel()
		two.stop()

		// Stop-and-start straight at the backend, same load.
		sl := newLoad("http://127.0.0.1:"+strconv.Itoa(one.port)+"/", conc)
		sl.setPhase("steady")
		stop = make(chan struct{})
		wg = sl.run(stop)
		time.Sleep(steadyFor)
		sl.setPhase("restart")
		for range switches {
			one.stop()
			one.start(b)
			time.Sleep(gap)
		}
		close(stop)
		wg.Wait()
		one.stop()

		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(float64(ld.failed["steady"]), "proxy-steady-failed")
		b.ReportMetric(float64(ld.failed["switch"]), "proxy-switch-failed")
		b.ReportMetric(float64(len(ld.lat["switch"])), "proxy-switch-ok")
		b.ReportMetric(ms(p99(ld.lat["steady"])), "proxy-steady-p99-ms")
		b.ReportMetric(ms(p99(ld.lat["switch"])), "proxy-switch-p99-ms")
		if s := p99(ld.lat["steady"]); s > 0 {
			b.ReportMetric(float64(p99(ld.lat["switch"]))/float64(s), "p99-switch/steady")
		}
		b.ReportMetric(float64(sl.failed["steady"]), "direct-steady-failed")
		b.ReportMetric(float64(sl.failed["restart"]), "stopstart-failed")
		b.ReportMetric(float64(len(sl.lat["restart"])), "stopstart-ok")
		b.ReportMetric(ms(p99(sl.lat["steady"])), "direct-steady-p99-ms")
		b.ReportMetric(ms(p99(sl.lat["restart"])), "stopstart-p99-ms")
		if ex := sl.example["restart"]; ex != "" {
			b.Logf("stop-and-start: %d failed, e.g. %s", sl.failed["restart"], ex)
		}
		if ex := ld.example["switch"]; ex != "" {
			b.Logf("proxy switches: %d failed, e.g. %s", ld.failed["switch"], ex)
		}
	}
	b.ReportMetric(0, "ns/op")
}
