package dashboard_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/dashboard"
	"github.com/ferryhq/ferry/internal/testing/recordtest"
	"github.com/ferryhq/ferry/internal/text"
)

// The charts' expected marks, from the seeded weeks (see the dora
// package's TestSeededWeekly): five weeks overlap the window; production
// has deploys, a new change and a recovery in each; staging's two
// deploys fall in the third, with no failure.
var wantMarks = map[string]int{
	"billing-production-deploys":  5,
	"billing-production-lead":     5,
	"billing-production-failures": 5,
	"billing-production-recovery": 5,
	"billing-staging-deploys":     5,
	"billing-staging-lead":        1,
	"billing-staging-failures":    5,
	"billing-staging-recovery":    0,
}

func render(t *testing.T) string {
	var b bytes.Buffer
	if err := dashboard.WriteHTML(&b, seeded(t)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var svgRE = regexp.MustCompile(`(?s)<svg id="([^"]+)".*?</svg>`)

func TestPageIsSelfContained(t *testing.T) {
	page := render(t)
	for _, bad := range []string{"<script", " src=", "@import", "url(", "<link rel=\"stylesheet\"", "<iframe"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must need nothing from elsewhere", bad)
		}
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy"`) {
		t.Error("page declares no Content-Security-Policy")
	}
	// Every SVG is well-formed XML with a title and a desc, and has the
	// expected number of marks.
	found := map[string]bool{}
	for _, m := range svgRE.FindAllStringSubmatch(page, -1) {
		id, svg := m[1], m[0]
		found[id] = true
		var doc struct {
			Title string `xml:"title"`
			Desc  string `xml:"desc"`
		}
		if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
			t.Errorf("%s is not well-formed: %v", id, err)
		}
		if doc.Title == "" || doc.Desc == "" {
			t.Errorf("%s has no title or desc", id)
		}
		marks := strings.Count(svg, `class="bar"`) + strings.Count(svg, `class="point"`)
		if want, ok := wantMarks[id]; !ok || marks != want {
			t.Errorf("%s has %d marks, want %d", id, marks, want)
		}
	}
	if len(found) != len(wantMarks) {
		t.Errorf("%d charts, want %d", len(found), len(wantMarks))
	}
	// The metric values the seeded history gives (see dora's tests).
	for _, want := range []string{"5.0 / day", "16.7%", "19h", "30s", "15.9%", "1m 25s", ">Elite<", ">High<", "no DORA band", text.Short(recordtest.SHA(199))} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHandler(t *testing.T) {
	d := seeded(t)
	calls := 0
	h := dashboard.Handler(func(ctx context.Context) (dashboard.Data, error) {
		calls++
		return d, nil
	})
	get := func(method, host, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://"+host+path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("GET", "127.0.0.1:8765", "/")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") || calls != 1 {
		t.Fatalf("GET /: %d %v", w.Code, w.Header())
	}
	for _, host := range []string{"localhost:1", "[::1]:8765", "127.0.0.2"} {
		if w := get("GET", host, "/"); w.Code != 200 {
			t.Errorf("Host %s: %d", host, w.Code)
		}
	}
	if w := get("GET", "attacker.example:8765", "/"); w.Code != http.StatusForbidden {
		t.Errorf("a non-loopback Host was answered: %d", w.Code)
	}
	if w := get("GET", "127.0.0.1", "/favicon.ico"); w.Code != 404 {
		t.Errorf("other path: %d", w.Code)
	}
	if w := get("POST", "127.0.0.1", "/"); w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
	bad := dashboard.Handler(func(context.Context) (dashboard.Data, error) {
		return dashboard.Data{}, errors.New("index locked\nmore")
	})
	r := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
	rw := httptest.NewRecorder()
	bad.ServeHTTP(rw, r)
	if rw.Code != 500 || !strings.Contains(rw.Body.String(), "index locked") || strings.Contains(rw.Body.String(), "more") {
		t.Errorf("load error: %d %q", rw.Code, rw.Body.String())
	}
}

func TestEmptyPage(t *testing.T) {
	var b bytes.Buffer
	if err := dashboard.WriteHTML(&b, dashboard.Data{}); err != nil || !strings.Contains(b.String(), "No environment") {
		t.Fatalf("%v\n%s", err, b.String())
	}
}
