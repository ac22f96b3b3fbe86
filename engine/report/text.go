package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/devflow/dwf-policy/engine/finding"
)

// ANSI SGR sequences of the text format's colours.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiGreen  = "\x1b[32m"
)

// formatText writes one line per finding, `path:line:col: severity ID message`,
// then a one-line summary, in the style compilers and linters use so editors
// can jump to the position. A line break in a message (a custom policy's)
// becomes " ⏎ ", so the output keeps exactly one line per finding. With
// Report.Color the severities, paths and IDs are coloured; with
// Report.Snippets each finding is followed by its source line and a caret
// under its column, as on a terminal.
func formatText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !r.Color {
			return s
		}
		return code + s + ansiReset
	}
	lines := &sourceLines{report: r}
	for _, f := range r.Findings {
		if f.Suppressed() && !r.ShowSuppressed {
			continue
		}
		sev := paint(severityColor(f.Severity), f.Severity.String())
		id := paint(ansiBold, f.RuleID)
		if f.Location.IsZero() && f.Subject != "" {
			// About an image, not a place in a file: no line to show.
			fmt.Fprintf(bw, "%s: %s %s %s", paint(ansiBold, f.Path), sev, id, oneLine(f.Message))
		} else {
			loc := f.Location.Normalized()
			fmt.Fprintf(bw, "%s: %s %s %s", paint(ansiBold, fmt.Sprintf("%s:%d:%d", f.Path, loc.Line, loc.Column)), sev, id, oneLine(f.Message))
		}
		if f.Subject != "" {
			bw.WriteString(paint(ansiDim, " ["+oneLine(f.Subject)+"]"))
		}
		if f.Suppressed() {
			bw.WriteString(paint(ansiDim, " (suppressed: "+oneLine(f.Suppressions[0].Justification)+")"))
		}
		bw.WriteByte('\n')
		if r.Snippets && !f.Location.IsZero() {
			writeSnippet(bw, lines, f, paint)
		}
	}
	summary := summaryLine(r)
	if r.Color {
		s := Summarize(r)
		switch {
		case s.Errors > 0:
			summary = paint(ansiRed+ansiBold, summary)
		case s.Warnings > 0:
			summary = paint(ansiYellow+ansiBold, summary)
		default:
			summary = paint(ansiGreen+ansiBold, summary)
		}
	}
	bw.WriteString(summary)
	bw.WriteByte('\n')
	return bw.Flush()
}

func severityColor(s finding.Severity) string {
	switch s {
	case finding.SeverityError:
		return ansiRed + ansiBold
	case finding.SeverityWarning:
		return ansiYellow + ansiBold
	}
	return ansiCyan + ansiBold
}

var lineBreaks = strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ⏎ ")

// oneLine keeps a message on one line of output.
func oneLine(s string) string { return lineBreaks.Replace(s) }

// maxSnippetWidth caps the source line shown under a finding, in
// characters; longer lines are cut around the column.
const maxSnippetWidth = 160

// writeSnippet writes the finding's source line, indented, and a caret
// line under its columns (to the end of the region on that line).
func writeSnippet(bw *bufio.Writer, lines *sourceLines, f finding.Finding, paint func(code, s string) string) {
	loc := f.Location.Normalized()
	line, ok := lines.line(f.Path, loc.Line)
	if !ok {
		return
	}
	runes := []rune(line)
	start := min(max(loc.Column-1, 0), len(runes))
	end := len(runes)
	if loc.EndLine == loc.Line {
		end = min(max(loc.EndColumn, start+1), len(runes))
	}
	from := 0
	if len(runes) > maxSnippetWidth {
		from = max(0, min(start-maxSnippetWidth/4, len(runes)-maxSnippetWidth))
		runes = runes[from : from+maxSnippetWidth]
		start, end = start-from, min(end-from, maxSnippetWidth)
	}
	// Under each character before the column: a tab stays a tab, so the
	// caret lines up whatever the terminal's tab width; anything else is a
	// space.
	var pad strings.Builder
	for _, c := range runes[:start] {
		if c == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	carets := max(end-start, 1)
	fmt.Fprintf(bw, "    %s\n    %s%s\n", string(runes), pad.String(), paint(severityColor(f.Severity), strings.Repeat("^", carets)))
}

// sourceLines reads the source a snippet is taken from and indexes its line
// starts once per file: findings come sorted by path, and a report of
// thousands of findings in one large file (a Trivy report) would otherwise
// read the file and scan it from its start for every finding. It holds one
// file at a time, so a report of many files stays small.
type sourceLines struct {
	report *Report
	path   string
	loaded bool
	src    []byte
	found  bool
	starts []int
}

// line returns line n (1-based) of path's source without its line ending,
// with invalid UTF-8 replaced.
func (sl *sourceLines) line(path string, n int) (string, bool) {
	if !sl.loaded || sl.path != path {
		sl.path, sl.loaded, sl.starts = path, true, nil
		sl.src, sl.found = sl.report.source(path)
		if sl.found {
			sl.starts = []int{0}
			for i, b := range sl.src {
				if b == '\n' {
					sl.starts = append(sl.starts, i+1)
				}
			}
		}
	}
	if !sl.found || n < 1 || n > len(sl.starts) {
		return "", false
	}
	line := sl.src[sl.starts[n-1]:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	s := strings.TrimSuffix(string(line), "\r")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s, true
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
