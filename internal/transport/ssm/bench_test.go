package ssm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/sandbox"
	"github.com/ferryhq/ferry/internal/transport/ssm"
)

// BenchmarkFleet deploys to 50 emulated instances with max_concurrency 10
// (five waves) and compares the wall time with five times the deploy of
// one instance, measured in the same run through the same path (preflight,
// upload check, SendCommand, polling). It also reports the SSM API calls
// the fleet deploy cost per instance.
//
//	go test -run '^$' -bench BenchmarkFleet -benchtime 3x ./internal/transport/ssm/
func BenchmarkFleet(b *testing.B) {
	const instances, concurrency = 50, 10
	f := newFleet(b, instances, sandbox.Options{})
	fleetOpts := f.options(func(o *ssm.Options) {
		o.MaxConcurrency = fmt.Sprint(concurrency)
		o.PollMin, o.PollMax = 0, 0 // the defaults a real deploy uses
	})
	oneOpts := fleetOpts
	oneOpts.InstanceIDs = f.ids[:1]

	deploy := func(opts ssm.Options, sha string) time.Duration {
		start := time.Now()
		res, err := f.run(testCtx(b), opts, f.spec(agent.OpApply, sha), nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Result.ExitCode != 0 {
				b.Fatalf("%s: %s %s", r.Target, r.Result.Outcome, r.Result.Error)
			}
		}
		return time.Since(start)
	}
	// Warm-up: every instance has the agent cached and a release running,
	// as a fleet does after its first deploy.
	f.write("app.py", tinyApp)
	deploy(fleetOpts, f.commit("tiny app"))

	var one, fleet time.Duration
	calls := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sha := f.commit(fmt.Sprintf("bench %d", i))
		b.StartTimer()
		one += deploy(oneOpts, sha)
		f.sb.Emulator.ResetCalls()
		fleet += deploy(fleetOpts, sha)
		calls += f.sb.Emulator.CallCount("")
	}
	waves := instances / concurrency
	b.ReportMetric(float64(fleet.Milliseconds())/float64(b.N), "ms/fleet")
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N), "ms/one")
	b.ReportMetric(float64(fleet)/float64(time.Duration(waves)*one), "ratio")
	b.ReportMetric(float64(calls)/float64(b.N*instances), "calls/instance")
}

// tinyApp answers /health with the deployed SHA using the socket module
// alone: 50 of them must start on two cores, and http.server's imports
// cost more than the rest of a deploy.
const tinyApp = `import os, socket
sha = os.environ.get("FERRY_SHA", "")
body = ('{"status": "healthy", "version": "%s"}' % sha).encode()
reply = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(64)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
        c.sendall(reply)
    finally:
        c.close()
`
