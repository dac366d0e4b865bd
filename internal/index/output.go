package index

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ferryhq/ferry/internal/text"
)

// csvHeader is the column order of WriteCSV (stable: scripts read it).
var csvHeader = []string{"seq", "app", "environment", "op", "outcome", "exit_code", "actor", "sha", "branch", "release",
	"started", "ended", "duration_ms", "hotfix", "emergency", "refusal", "run_url", "error"}

// WriteCSV writes rows as RFC 4180 CSV with a header line; times are
// RFC 3339 UTC.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write([]string{
			strconv.FormatInt(r.Seq, 10), r.App, r.Environment, string(r.Op), string(r.Outcome), strconv.Itoa(r.ExitCode),
			r.Actor, r.SHA, r.Branch, r.Release, stamp(r.Started), stamp(r.Ended), strconv.FormatInt(r.DurationMS, 10),
			strconv.FormatBool(r.Hotfix), r.Emergency, r.Refusal, r.RunURL, text.FirstLine(r.Error),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes rows as one JSON array (an empty array, not null,
// when there are none).
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// WriteTable writes rows aligned for a terminal.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tENV\tOP\tOUTCOME\tSHA\tACTOR\tDURATION\tNOTE")
	for _, r := range rows {
		note := text.FirstLine(r.Error)
		switch {
		case r.Emergency != "":
			note = "emergency: " + r.Emergency
		case r.Refusal != "":
			note = "refused by " + r.Refusal + ": " + note
		case r.Hotfix:
			note = "hotfix " + note
		}
		dur := "-"
		if r.DurationMS > 0 {
			dur = (time.Duration(r.DurationMS) * time.Millisecond).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Started.UTC().Format("2006-01-02 15:04"), r.Environment, r.Op,
			r.Outcome, text.Short(r.SHA), r.Actor, dur, note)
	}
	return tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
