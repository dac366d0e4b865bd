package dashboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ferryhq/ferry/internal/dashboard"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/testing/testtool"
	"github.com/ferryhq/ferry/internal/text"
)

// chromium finds Debian's Chromium; under CI=true its absence fails.
func chromium(t *testing.T) string {
	for _, name := range []string{"/usr/bin/chromium", "chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testtool.Missing(t, "chromium", "apt-get install chromium")
	return ""
}

// The page, served by the real handler on loopback, loads in headless
// Chromium with no console error, no failed or outside request, shows
// the seeded history, and each chart has its expected marks, a title, a
// desc and a data table with a row per week.
func TestDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	d := seeded(t)
	srv := httptest.NewServer(dashboard.Handler(func(context.Context) (dashboard.Data, error) { return d, nil }))
	defer srv.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.WindowSize(1280, 2000),
	}
	// Generous: the machine is shared and often loaded; nothing here
	// asserts on time.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	var mu sync.Mutex
	var problems, requests []string
	err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, fmt.Sprint(a.Value))
				}
				problems = append(problems, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *network.EventLoadingFailed:
			problems = append(problems, "loading failed: "+e.ErrorText)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
		t.Fatal(err)
	}
	title := run(t, bctx, chromedp.Title())
	counts := run(t, bctx, chromedp.Evaluate[map[string]int](`(() => {
		const out = {};
		for (const svg of document.querySelectorAll('svg.chart')) {
			out[svg.id] = svg.querySelectorAll('.bar, .point').length;
		}
		return out;
	})()`))
	type chartInfo struct {
		ID       string  `json:"id"`
		Role     string  `json:"role"`
		Title    string  `json:"title"`
		Desc     string  `json:"desc"`
		Labelled bool    `json:"labelled"`
		Rows     int     `json:"rows"`
		Width    float64 `json:"width"`
	}
	charts := run(t, bctx, chromedp.Evaluate[[]chartInfo](`[...document.querySelectorAll('figure')].map(f => {
		const svg = f.querySelector('svg');
		const ids = (svg.getAttribute('aria-labelledby') || '').split(' ');
		return {
			id: svg.id, role: svg.getAttribute('role'),
			title: (svg.querySelector(':scope > title') || {}).textContent || '',
			desc: (svg.querySelector(':scope > desc') || {}).textContent || '',
			labelled: ids.length === 2 && ids.every(i => document.getElementById(i) !== null),
			rows: f.querySelectorAll('table.chart-data tbody tr').length,
			width: svg.getBoundingClientRect().width,
		};
	})`))
	rows := run(t, bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#history-billing-production tbody tr')].map(r => r.innerText)`))
	shot := run(t, bctx, chromedp.FullScreenshot(100)) // quality 100: PNG

	if p := os.Getenv("FERRY_DASHBOARD_SCREENSHOT"); p != "" {
		_ = os.WriteFile(p, shot, 0o644)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(problems, "\n"))
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, srv.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page asked for %s: it must need nothing from elsewhere", u)
		}
	}
	if title != "billing — deployments" {
		t.Errorf("title %q", title)
	}
	if len(charts) != len(wantMarks) || len(counts) != len(wantMarks) {
		t.Errorf("charts %v, want %v", counts, wantMarks)
	}
	for id, want := range wantMarks {
		if counts[id] != want {
			t.Errorf("chart %s shows %d points, want %d", id, counts[id], want)
		}
	}
	for _, c := range charts {
		if c.Role != "img" || c.Title == "" || c.Desc == "" || !c.Labelled || c.Rows != 5 || c.Width < 100 {
			t.Errorf("chart %+v: needs role=img, a title and desc it is labelled by, 5 data rows, and to be drawn", c)
		}
	}
	if len(rows) != historyRows {
		t.Fatalf("history shows %d rows, want %d", len(rows), historyRows)
	}
	// The newest attempt is deploy 199, by octocat.
	if first := rows[0]; !strings.Contains(first, text.Short(recordtest.SHA(199))) || !strings.Contains(first, "octocat") || !strings.Contains(first, "deployed") {
		t.Errorf("first history row: %q", first)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
