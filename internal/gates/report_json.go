package gates

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes the report as one indented JSON document with
// snake_case field names that are a contract for scripts: fields may be
// added, never renamed. Durations are integers in milliseconds.
func WriteJSON(w io.Writer, rep *Report) error { return writeIndentedJSON(w, rep, "json") }

// writeIndentedJSON writes v for people to read as well as programs, with
// <, > and & as they are: the reports carry code and commands.
func writeIndentedJSON(w io.Writer, v any, format string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}
