package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferryhq/ferry/internal/agent"
	"github.com/ferryhq/ferry/internal/cli"
	"github.com/ferryhq/ferry/internal/testing/browser"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
)

// ferry dashboard, served by the command itself on loopback and loaded
// in headless Chromium: every environment of ferry.yml with what serves
// on each instance (asked live through the transport's status op), its
// history from the index and its charts; nothing logged, nothing asked of
// elsewhere; a deploy made while it serves shows on the next load. Its
// --json envelope comes once it serves. ferry report --html writes the
// same page to a file.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	dir, _ := fakeProject(t, seededConfig)
	seed(t, filepath.Join(dir, "prod"), recordtest.History("production")...)
	week3 := recordtest.T0.AddDate(0, 0, 21)
	seed(t, filepath.Join(dir, "stage"),
		recordtest.Deploy("staging", 1, week3.Add(10*time.Hour), time.Minute, 2*time.Hour),
		recordtest.Deploy("staging", 2, week3.Add(30*time.Hour), time.Minute, 4*time.Hour))
	indexPath := filepath.Join(t.TempDir(), "index.db")
	env := map[string]string{"FERRY_NOW": recordtest.HistoryNow.Format(time.RFC3339), "FERRY_INDEX": indexPath}
	fake := answering(agent.OutcomeOK, "i-0fe77a00000000001", "i-0fe77a00000000002")

	out := &notifyWriter{ready: make(chan struct{})}
	var errb bytes.Buffer
	f := cli.NewFactory(cli.IO{In: strings.NewReader(""), Out: out, Err: &syncWriter{w: &errb}, Getenv: func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}})
	f.WorkDir = dir
	withFake(fake)(f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- cli.Run(ctx, []string{"dashboard", "--addr", "127.0.0.1:0", "--json"}, f) }()
	select {
	case <-out.ready:
	case c := <-code:
		t.Fatalf("dashboard exited %d before serving:\n%s", c, errb.String())
	}
	var served struct {
		Result struct {
			URL          string
			Environments []string
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &served); err != nil || !strings.HasPrefix(served.Result.URL, "http://127.0.0.1:") {
		t.Fatalf("the envelope: %v %s", err, out.String())
	}

	page := browser.Open(t, served.Result.URL, "footer")
	if title := browser.Run(t, page, chromedp.Title()); title != "billing — deployments" {
		t.Errorf("title %q", title)
	}
	marks := browser.Run(t, page, chromedp.Evaluate[map[string]int](`Object.fromEntries([...document.querySelectorAll('svg.chart')].map(s => [s.id, s.querySelectorAll('.bar, .point').length]))`))
	for id, want := range map[string]int{
		"billing-production-deploys": 5, "billing-production-lead": 5, "billing-production-failures": 5, "billing-production-recovery": 5,
		"billing-staging-deploys": 5, "billing-staging-lead": 1, "billing-staging-failures": 5, "billing-staging-recovery": 0,
	} {
		if marks[id] != want {
			t.Errorf("chart %s has %d points, want %d (all: %v)", id, marks[id], want, marks)
		}
	}
	instances := browser.Run(t, page, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#instances-billing-production tbody tr')].map(r => r.innerText)`))
	if len(instances) != 2 || !strings.Contains(instances[0], "i-0fe77a00000000001") || !strings.Contains(instances[1], "i-0fe77a00000000002") {
		t.Errorf("instances of production: %q", instances)
	}
	statusAsked := 0
	for _, s := range fake.Specs() {
		if s.Op == agent.OpStatus {
			statusAsked++
		}
	}
	if statusAsked < 2 {
		t.Errorf("the transport was asked what serves %d times, want once per environment", statusAsked)
	}
	rows := func(env string) []string {
		return browser.Run(t, page, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#history-billing-`+env+` tbody tr')].map(r => r.innerText)`))
	}
	if got := rows("production"); len(got) != 40 || !strings.Contains(got[0], recordtest.SHA(199)[:12]) || !strings.Contains(got[0], "octocat") {
		t.Errorf("production's history: %d rows, first %q", len(got), got)
	}
	if got := rows("staging"); len(got) != 2 {
		t.Errorf("staging's history: %q", got)
	}

	// A deploy while it serves shows on the next load.
	if r := ferryWith(t, dir, env, withFake(answering(agent.OutcomeDeployed)), "deploy", "staging", "--skip-gates"); r.code != 0 {
		t.Fatalf("deploy: %s", r)
	}
	browser.Run(t, page, chromedp.Reload())
	if got := rows("staging"); len(got) != 3 || !strings.Contains(got[0], "Ada Tester") {
		t.Errorf("staging's history after a deploy: %q", got)
	}
	if p := page.Problems(); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
	}
	for _, u := range page.Requests() {
		if !strings.HasPrefix(u, served.Result.URL) && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page asked for %s", u)
		}
	}
	cancel()
	r := run{code: <-code, out: out.String(), err: errb.String()}
	if r.code != 0 {
		t.Errorf("dashboard exited %d: %s", r.code, r)
	}
	checkEnvelope(t, "dashboard", r)

	// ferry report --html: the same page, one file, loaded from disk.
	rr := ferryWith(t, dir, env, withFake(fake), "report", "--html", "out.html", "--json")
	if rr.code != 0 {
		t.Fatalf("report: %s", rr)
	}
	checkEnvelope(t, "report", rr)
	file := browser.Open(t, "file://"+filepath.Join(dir, "out.html"), "footer")
	if got := browser.Run(t, file, chromedp.Evaluate[int](`document.querySelectorAll('#history-billing-staging tbody tr').length`)); got != 3 {
		t.Errorf("the report's staging history has %d rows", got)
	}
	if p := file.Problems(); len(p) > 0 {
		t.Errorf("the report logged problems:\n%s", strings.Join(p, "\n"))
	}
}
