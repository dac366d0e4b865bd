package dashboard_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ferryhq/ferry/internal/dashboard"
	"github.com/ferryhq/ferry/internal/testing/browser"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/text"
)

// The page, served by the real handler on loopback, loads in headless
// Chromium with no console error, no failed or outside request, shows
// the seeded history, and each chart has its expected marks, a title, a
// desc and a data table with a row per week.
func TestDashboardInChromium(t *testing.T) {
	d := seeded(t)
	srv := httptest.NewServer(dashboard.Handler(func(context.Context) (dashboard.Data, error) { return d, nil }))
	defer srv.Close()
	page := browser.Open(t, srv.URL+"/", "footer")
	title := browser.Run(t, page, chromedp.Title())
	counts := browser.Run(t, page, chromedp.Evaluate[map[string]int](`(() => {
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
	charts := browser.Run(t, page, chromedp.Evaluate[[]chartInfo](`[...document.querySelectorAll('figure')].map(f => {
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
	rows := browser.Run(t, page, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#history-billing-production tbody tr')].map(r => r.innerText)`))
	shot := browser.Run(t, page, chromedp.FullScreenshot(100)) // quality 100: PNG

	if p := os.Getenv("FERRY_DASHBOARD_SCREENSHOT"); p != "" {
		_ = os.WriteFile(p, shot, 0o644)
	}
	if problems := page.Problems(); len(problems) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(problems, "\n"))
	}
	for _, u := range page.Requests() {
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
