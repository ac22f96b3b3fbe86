package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/devflow/dwf-policy/engine/finding"
)

// formatGitHub writes one GitHub Actions workflow command per finding
// (::error, ::warning or ::notice with file, line, col, endLine, endColumn
// and title), so the findings appear as annotations on the pull request and
// in the job log, then the text summary as a plain line. Paths are relative
// to the repository root, as GitHub resolves them. Data and property values
// are escaped as @actions/core escapes them and the runner unescapes them:
// % CR LF in both, and : , in property values.
func formatGitHub(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Findings {
		if f.Suppressed() && !r.ShowSuppressed {
			continue
		}
		bw.WriteString(githubCommand(r, f))
		bw.WriteByte('\n')
	}
	bw.WriteString(summaryLine(r))
	bw.WriteByte('\n')
	return bw.Flush()
}

// githubCommand is the workflow command of one finding.
func githubCommand(r *Report, f finding.Finding) string {
	command := githubLevel(f.Severity)
	msg := f.Message
	if f.Subject != "" {
		msg += " [" + f.Subject + "]"
	}
	if f.Suppressed() {
		command = "notice" // it does not count: no error annotation
		msg += " (suppressed: " + f.Suppressions[0].Justification + ")"
	}
	var props []string
	if f.Location.IsZero() && f.Subject != "" {
		// About an image, not a place in a file: the path is the image
		// reference, which no file annotation could point at.
		msg = f.Path + ": " + msg
	} else {
		p := f.Path
		if r.URIBase != nil {
			p = r.URIBase(p)
		}
		loc := f.Location.Normalized()
		props = append(props,
			"file="+githubProperty(p),
			"line="+strconv.Itoa(loc.Line),
			"col="+strconv.Itoa(loc.Column),
			"endLine="+strconv.Itoa(loc.EndLine),
			"endColumn="+strconv.Itoa(loc.EndColumn))
	}
	props = append(props, "title="+githubProperty(f.RuleID))
	return "::" + command + " " + strings.Join(props, ",") + "::" + githubData(msg)
}

// githubLevel maps a severity to a workflow command.
func githubLevel(s finding.Severity) string {
	switch s {
	case finding.SeverityError:
		return "error"
	case finding.SeverityWarning:
		return "warning"
	}
	return "notice"
}

var (
	githubDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	githubPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// githubData escapes a command's message.
func githubData(s string) string { return githubDataEscaper.Replace(s) }

// githubProperty escapes a command property's value.
func githubProperty(s string) string { return githubPropertyEscaper.Replace(s) }

// summaryLine is the one-line count every human-readable format ends with,
// without its newline.
func summaryLine(r *Report) string {
	s := Summarize(r)
	noun := r.Inputs
	if noun == "" {
		noun = "file"
	}
	line := fmt.Sprintf("%s in %s: %s, %s, %s",
		plural(s.Errors+s.Warnings+s.Notes, "problem"), plural(s.Files, noun),
		plural(s.Errors, "error"), plural(s.Warnings, "warning"), plural(s.Notes, "note"))
	if s.Suppressed > 0 {
		line += fmt.Sprintf(" (%d suppressed)", s.Suppressed)
	}
	return line
}
