package report

import (
	"bufio"
	"fmt"
	"io"
)

// formatText writes one line per finding, `path:line:col: severity ID message`,
// then a one-line summary, in the style compilers and linters use so editors
// can jump to the position.
func formatText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Findings {
		if f.Suppressed() && !r.ShowSuppressed {
			continue
		}
		if f.Location.IsZero() && f.Subject != "" {
			// About an image, not a place in a file: no line to show.
			fmt.Fprintf(bw, "%s: %s %s %s", f.Path, f.Severity, f.RuleID, f.Message)
		} else {
			loc := f.Location.Normalized()
			fmt.Fprintf(bw, "%s:%d:%d: %s %s %s", f.Path, loc.Line, loc.Column, f.Severity, f.RuleID, f.Message)
		}
		if f.Subject != "" {
			fmt.Fprintf(bw, " [%s]", f.Subject)
		}
		if f.Suppressed() {
			fmt.Fprintf(bw, " (suppressed: %s)", f.Suppressions[0].Justification)
		}
		bw.WriteByte('\n')
	}
	bw.WriteString(summaryLine(r))
	bw.WriteByte('\n')
	return bw.Flush()
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
