package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// A series is one chart's data: a label and a value per week, or no
// value (nil) for a week that had nothing to measure.
type series struct {
	// id is unique in the page: the SVG's id and its title's and desc's.
	id    string
	title string
	desc  string
	// unit labels the values ("deploys", "hours"…); format prints one.
	unit   string
	format func(float64) string
	labels []string
	values []*float64
	// bars draws bars; otherwise points joined by a line.
	bars  bool
	class string
}

const (
	chartW, chartH                 = 640, 220
	padL, padR, padT, padB         = 48, 16, 16, 40
	plotW, plotH                   = chartW - padL - padR, chartH - padT - padB
	barGap                 float64 = 0.25
)

// svg renders the chart as inline SVG: no script, no external
// reference. Each mark has its own <title>, so a pointer or a screen
// reader gets the exact value; the chart's <title> and <desc> say what
// it shows, and the page puts the same numbers in a table beside it.
func (s series) svg() template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" class="chart %s" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`,
		esc(s.id), esc(s.class), esc(s.id), esc(s.id), chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(s.id), esc(s.title), esc(s.id), esc(s.desc))

	top := 0.0
	for _, v := range s.values {
		if v != nil && *v > top {
			top = *v
		}
	}
	top = niceCeil(top)
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }

	// Axes and three gridlines with their values.
	fmt.Fprintf(&b, `<g class="axis" aria-hidden="true">`)
	for _, f := range []float64{0, 0.5, 1} {
		yy := y(top * f)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/>`, padL, yy, chartW-padR, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" class="tick">%s</text>`, padL-6, yy+4, esc(s.format(top*f)))
	}
	n := len(s.labels)
	step := float64(plotW) / math.Max(float64(n), 1)
	for i, l := range s.labels {
		x := padL + step*(float64(i)+0.5)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" class="tick">%s</text>`, x, chartH-padB+18, esc(l))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="unit">%s</text></g>`, padL, chartH-6, esc("week starting (UTC), "+s.unit))

	// The marks.
	if s.bars {
		w := step * (1 - barGap)
		for i, v := range s.values {
			val := 0.0
			if v != nil {
				val = *v
			}
			x := padL + step*float64(i) + (step-w)/2
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
				x, y(val), w, padT+plotH-y(val), esc(s.labels[i]), esc(s.format(val)+" "+s.unit))
		}
	} else {
		var pts []string
		for i, v := range s.values {
			if v != nil {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", padL+step*(float64(i)+0.5), y(*v)))
			}
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
		}
		for i, v := range s.values {
			if v == nil {
				continue
			}
			fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="4"><title>%s: %s</title></circle>`,
				padL+step*(float64(i)+0.5), y(*v), esc(s.labels[i]), esc(s.format(*v)+" "+s.unit))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten,
// so the gridlines fall on round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
