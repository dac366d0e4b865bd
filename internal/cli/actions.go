package cli

import (
	"fmt"
	"path/filepath"
	"strings"
)

// GitHub Actions workflow commands: annotations that GitHub shows on the
// file and line (and in the run's summary), and collapsible groups.

// annotation is one ::error/::warning/::notice line; file, line and col
// are left out when unknown (""/0).
func annotation(level, file string, line, col int, title, msg string) string {
	var props []string
	if file != "" {
		props = append(props, "file="+escapeProperty(filepath.ToSlash(file)))
		if line > 0 {
			props = append(props, fmt.Sprintf("line=%d", line))
			if col > 0 {
				props = append(props, fmt.Sprintf("col=%d", col))
			}
		}
	}
	if title != "" {
		props = append(props, "title="+escapeProperty(title))
	}
	s := "::" + level
	if len(props) > 0 {
		s += " " + strings.Join(props, ",")
	}
	return s + "::" + escapeActions(msg)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// rel is path relative to the working directory when it is inside it
// (how people and annotations name files), else path.
func (c Common) rel(path string) string {
	if r, err := filepath.Rel(c.WorkDir, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}
