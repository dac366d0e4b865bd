// Package dashboard renders ferry's dashboard: one self-contained HTML
// page with each environment (what serves on which instance), its DORA
// metrics with their bands, weekly charts (deploys, lead time, failures,
// recovery time) and its recent history. The CSS is inline and the
// charts are inline SVG drawn here: no script, no CDN, no web font, so
// the page works offline, from a file, and under a Content-Security-
// Policy that forbids everything else. Each chart has a <title> and a
// <desc> and the table of its numbers beside it.
//
// The CLI's calls:
//
//	err := dashboard.WriteHTML(w, data)                  // ferry report --html FILE
//	h := dashboard.Handler(func(ctx context.Context) (dashboard.Data, error) {
//		// sync the index, query it, ask each environment what it serves
//	})
//	srv := &http.Server{Addr: "127.0.0.1:8765", Handler: h}  // ferry dashboard
//
// The handler answers only GET and HEAD of "/", and only requests whose
// Host is a loopback name or address, so a web page elsewhere cannot
// read the dashboard through DNS rebinding.
package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/dora"
	"github.com/ferryhq/ferry/internal/index"
	"github.com/ferryhq/ferry/internal/text"
)

// Data is everything the page shows, environment by environment. The caller assembles it: the
// metrics and history from the index, the instances from each
// environment's transport.
type Data struct {
	// Title heads the page; default "ferry".
	Title string
	// Generated is when the data was read (shown, and in the footer).
	Generated    time.Time
	Environments []Environment
}

// Environment is one environment's section: App and Name as in
// ferry.yml, and Metrics from dora.Compute over the window to show.
type Environment struct {
	App  string
	Name string
	// Target describes where it runs ("ssm, 3 instances", "local /srv/app").
	Target string
	// Instances say what serves where now.
	Instances []Instance
	Metrics   dora.Report
	// Weeks are the charts' data (dora.Weekly), oldest first.
	Weeks []dora.Week
	// History is the recent attempts, newest first, as many as should show.
	History []index.Row
}

// Instance is one server (ID) and what it serves: the release, its
// commit, and whether its health check passes.
type Instance struct {
	ID      string
	Release string
	SHA     string
	Healthy bool
	// Status is a short word when there is more to say ("unreachable").
	Status string
}

//go:embed page.css
var css string

// styleHash lets the CSP allow exactly the page's own stylesheet.
var styleHash = func() string {
	s := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(s[:]) + "'"
}()

// CSP is the policy the page declares (and the handler sends): nothing
// but its own inline stylesheet and data: images.
var CSP = "default-src 'none'; style-src " + styleHash + "; img-src data:; base-uri 'none'; form-action 'none'"

// WriteHTML writes the page.
func WriteHTML(w io.Writer, d Data) error {
	var buf bytes.Buffer
	if err := page.Execute(&buf, view(d)); err != nil {
		return fmt.Errorf("render dashboard: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Handler serves the page, calling load for fresh data on every request.
func Handler(load func(ctx context.Context) (Data, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, "the dashboard answers only on a loopback address", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		d, err := load(r.Context())
		if err != nil {
			http.Error(w, "load the dashboard's data: "+text.FirstLine(err.Error()), http.StatusInternalServerError)
			return
		}
		var buf bytes.Buffer
		if err := WriteHTML(&buf, d); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", CSP+"; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	})
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// The template's view of the data: everything formatted, charts drawn.
type pageView struct {
	Title, Generated string
	CSP              string
	Envs             []envView
}

type envView struct {
	ID, App, Name, Target string
	Instances             []Instance
	Window                string
	Cards                 []card
	Charts                []chartView
	History               []index.Row
}

type card struct {
	Name, Value, Detail, Band, BandText string
}

type chartView struct {
	SVG     template.HTML
	Caption string
	Unit    string
	Rows    [][2]string
}

func view(d Data) pageView {
	v := pageView{Title: d.Title, CSP: CSP}
	if v.Title == "" {
		v.Title = "ferry"
	}
	if !d.Generated.IsZero() {
		v.Generated = d.Generated.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, e := range d.Environments {
		id := slug(e.App + "-" + e.Name)
		m := e.Metrics
		ev := envView{ID: id, App: e.App, Name: e.Name, Target: e.Target, Instances: e.Instances, History: e.History,
			Window: fmt.Sprintf("%s to %s", m.From.UTC().Format("2006-01-02"), m.To.UTC().Format("2006-01-02"))}
		ev.Cards = cards(m)
		ev.Charts = charts(id, e.Weeks)
		v.Envs = append(v.Envs, ev)
	}
	return v
}

func bandText(b dora.Band) (class, label string) {
	if b == dora.None {
		return "none", "no DORA band"
	}
	return string(b), strings.ToUpper(string(b[:1])) + string(b[1:])
}

func cards(m dora.Report) []card {
	mk := func(name, value, detail string, b dora.Band) card {
		c, l := bandText(b)
		return card{Name: name, Value: value, Detail: detail, Band: c, BandText: l}
	}
	f := m.DeploymentFrequency
	out := []card{
		mk("Deployment frequency", fmt.Sprintf("%.1f / day", f.PerDay), fmt.Sprintf("%d deployments, %.1f a week", f.Deployments, f.PerWeek), f.Band),
		durationCard(mk, "Change lead time", m.LeadTime, "changes"),
		mk("Change fail rate", percent(m.ChangeFailRate), fmt.Sprintf("%d of %d deployments needed a rollback or hotfix", m.ChangeFailRate.Count, m.ChangeFailRate.Total), m.ChangeFailRate.Band),
		durationCard(mk, "Failed deployment recovery time", m.RecoveryTime, "failures"),
		mk("Deployment rework rate", percent(m.ReworkRate), fmt.Sprintf("%d of %d deployments were unplanned", m.ReworkRate.Count, m.ReworkRate.Total), m.ReworkRate.Band),
		durationCard(mk, "Deployment duration", m.DeploymentDuration, "deployments"),
	}
	if m.Unrecovered > 0 {
		out[3].Detail += fmt.Sprintf("; %d not recovered yet", m.Unrecovered)
	}
	return out
}

func durationCard(mk func(string, string, string, dora.Band) card, name string, d dora.Durations, what string) card {
	if d.Count == 0 {
		return mk(name, "–", "nothing to measure", dora.None)
	}
	return mk(name, human(d.Median), fmt.Sprintf("median of %d %s; p90 %s", d.Count, what, human(d.P90)), d.Band)
}

func percent(r dora.Rate) string {
	if r.Total == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", r.Value*100)
}

// human prints a duration the way people say it: 30s, 4m 10s, 19h, 2d 3h.
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		return trimZero(fmt.Sprintf("%dm %ds", int(d/time.Minute), int(d%time.Minute/time.Second)))
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		return trimZero(fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute)))
	}
	d = d.Round(time.Hour)
	return trimZero(fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)))
}

func trimZero(s string) string {
	for _, z := range []string{" 0s", " 0m", " 0h"} {
		s = strings.TrimSuffix(s, z)
	}
	return s
}

func charts(id string, weeks []dora.Week) []chartView {
	labels := make([]string, len(weeks))
	deploys, failures, lead, recovery := make([]*float64, len(weeks)), make([]*float64, len(weeks)), make([]*float64, len(weeks)), make([]*float64, len(weeks))
	for i, w := range weeks {
		labels[i] = w.Start.UTC().Format("01-02")
		d, f := float64(w.Deployments), float64(w.Failures)
		deploys[i], failures[i] = &d, &f
		if w.LeadMedian != nil {
			h := w.LeadMedian.Hours()
			lead[i] = &h
		}
		if w.RecoveryMedian != nil {
			m := w.RecoveryMedian.Minutes()
			recovery[i] = &m
		}
	}
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	num := func(v float64) string {
		if v >= 10 || v == math.Trunc(v) {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.1f", v)
	}
	span := ""
	if len(weeks) > 0 {
		span = fmt.Sprintf(" for the %d weeks from %s", len(weeks), weeks[0].Start.UTC().Format("2006-01-02"))
	}
	all := []series{
		{id: id + "-deploys", class: "deploys", title: "Deployments per week", unit: "deploys", format: count, bars: true,
			desc: "Bar chart of the number of deployments that reached the servers each week" + span + "."},
		{id: id + "-lead", class: "lead", title: "Change lead time per week (median)", unit: "hours", format: num,
			desc: "Line chart of the median time from commit to healthy in this environment, in hours, each week that had a new change" + span + "."},
		{id: id + "-failures", class: "failures", title: "Failed deployments per week", unit: "failures", format: count, bars: true,
			desc: "Bar chart of the number of deployments each week that needed a rollback or a hotfix" + span + "."},
		{id: id + "-recovery", class: "recovery", title: "Failed deployment recovery time per week (median)", unit: "minutes", format: num,
			desc: "Line chart of the median time to recover from a failed deployment, in minutes, each week that had a recovery" + span + "."},
	}
	vals := [][]*float64{deploys, lead, failures, recovery}
	var out []chartView
	for i, s := range all {
		s.labels, s.values = labels, vals[i]
		cv := chartView{SVG: s.svg(), Caption: s.title, Unit: s.unit}
		for j, v := range s.values {
			val := "–"
			if v != nil {
				val = s.format(*v)
			}
			cv.Rows = append(cv.Rows, [2]string{weeks[j].Start.UTC().Format("2006-01-02"), val})
		}
		out = append(out, cv)
	}
	return out
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	return b.String()
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"css":   func() template.CSS { return template.CSS(css) },
	"short": text.Short,
	"first": text.FirstLine,
	"stamp": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"ms": func(v int64) string {
		if v <= 0 {
			return "–"
		}
		return human(time.Duration(v) * time.Millisecond)
	},
}).Parse(pageTemplate))

//go:embed page.html.tmpl
var pageTemplate string
