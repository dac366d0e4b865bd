package gates

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr,omitempty"`
	Props     *junitProps     `xml:"properties,omitempty"`
	Cases     []junitTestcase `xml:"testcase"`
	SystemOut string          `xml:"system-out,omitempty"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func seconds(d interface{ Seconds() float64 }) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes one JUnit XML document with a testsuite per gate, so CI
// test reporters show each gate and, inside the tests gate's suite, each
// pytest case. Every suite ends with a case named after the gate that
// carries the gate's verdict, findings and hint. A non-blocking gate's verdict case never fails,
// since it does not fail the run; its findings go to system-out.
func WriteJUnit(w io.Writer, rep *Report) error {
	doc := junitTestsuites{Name: "ferry check", Time: seconds(rep.Duration)}
	for _, g := range rep.Gates {
		s := junitTestsuite{Name: g.Name, Time: seconds(g.Duration)}
		if !rep.Started.IsZero() {
			s.Timestamp = rep.Started.UTC().Format("2006-01-02T15:04:05")
		}
		s.Props = &junitProps{Props: []junitProp{
			{Name: "status", Value: string(g.Status)},
			{Name: "blocking", Value: fmt.Sprint(g.Blocking)},
			{Name: "tool", Value: g.Tool},
			{Name: "summary", Value: g.Summary},
		}}
		for _, tc := range g.Tests {
			c := junitTestcase{Name: tc.Name, Classname: tc.Classname, File: tc.File, Line: tc.Line, Time: seconds(tc.Duration)}
			if c.Classname == "" {
				c.Classname = g.Name
			}
			msg := &junitMessage{Message: tc.Message, Body: tc.Detail}
			switch tc.Status {
			case CaseFailed:
				c.Failure = msg
			case CaseError:
				c.Error = msg
			case CaseSkipped:
				c.Skipped = msg
			}
			s.Cases = append(s.Cases, c)
		}
		// The gate's own verdict: its cases may all pass while the gate
		// fails (coverage below the minimum).
		s.Cases = append(s.Cases, gateCase(g))
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

func gateCase(g Result) junitTestcase {
	c := junitTestcase{Name: g.Name, Classname: "ferry.gates", Time: seconds(g.Duration)}
	var body strings.Builder
	for _, f := range g.Findings {
		body.WriteString(findingLine(f))
		body.WriteByte('\n')
	}
	if g.Output != "" {
		body.WriteString(g.Output)
		body.WriteByte('\n')
	}
	if g.Hint != "" {
		body.WriteString("hint: " + g.Hint + "\n")
	}
	msg := &junitMessage{Message: g.Summary, Type: string(g.Status), Body: body.String()}
	switch {
	case g.Status == StatusPassed:
		c.SystemOut = g.Summary
	case g.Status == StatusSkipped:
		c.Skipped = msg
	case !g.Blocking:
		c.SystemOut = fmt.Sprintf("%s (non-blocking): %s\n%s", g.Status, g.Summary, body.String())
	case g.Status == StatusFailed:
		c.Failure = msg
	default: // missing, error, timeout of a blocking gate
		c.Error = msg
	}
	return c
}
