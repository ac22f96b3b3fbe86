// Package report turns a list of findings into text, JSON, SARIF, GitHub
// workflow commands, JUnit XML or GitLab Code Quality. Reporters
// only format: every decision was made by the policies and the engine.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/devflow/dwf-policy/engine/finding"
)

// Tool identifies the program in machine-readable output.
type Tool struct {
	Name           string
	Version        string
	InformationURI string
}

// Report is everything a formatter needs; formatters must not change it.
type Report struct {
	Tool     Tool
	Rules    []finding.Rule    // the whole catalogue, sorted by ID
	Findings []finding.Finding // sorted with finding.Sort
	// Sources maps a finding's Path to the file content, for SARIF
	// fingerprints. Paths without an entry get no fingerprint.
	Sources map[string][]byte
	// ReadSource reads the content of a path whose entry in Sources is
	// nil: a check keeps only the content it cannot read again (standard
	// input, files with suppression comments), so that its memory does
	// not grow with the number of files. Nil reads nothing.
	ReadSource func(path string) ([]byte, bool)
	// FilesChecked counts the inputs that were checked.
	FilesChecked int
	// Inputs names what was checked in the text summary ("image"); empty
	// means "file".
	Inputs string
	// ShowSuppressed makes the text format list suppressed findings too.
	ShowSuppressed bool
	// Color makes the text format colour its output with ANSI sequences,
	// and Snippets makes it show each finding's source line with a caret
	// under the column: both for a terminal.
	Color    bool
	Snippets bool
	// URIBase maps a finding's Path to the URI reported in SARIF (relative
	// to the repository root, slash-separated). Nil means Path as is.
	URIBase func(path string) string
	// Time is when the check ran, for formats that record it (JUnit's
	// timestamp); zero means the Unix epoch, so output stays reproducible.
	Time time.Time
}

// Formatter writes a Report in one format.
type Formatter interface {
	Format(w io.Writer, r *Report) error
}

// FormatterFunc adapts a function to a Formatter.
type FormatterFunc func(w io.Writer, r *Report) error

// Format calls f.
func (f FormatterFunc) Format(w io.Writer, r *Report) error { return f(w, r) }

var formatters = map[string]Formatter{
	"text":   FormatterFunc(formatText),
	"json":   FormatterFunc(formatJSON),
	"sarif":  FormatterFunc(formatSARIF),
	"github": FormatterFunc(formatGitHub),
	"junit":  FormatterFunc(formatJUnit),
	"gitlab": FormatterFunc(formatGitLab),
}

// Formats lists the names accepted by New, sorted.
func Formats() []string {
	names := make([]string, 0, len(formatters))
	for n := range formatters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New returns the formatter for a format name, in any case.
func New(format string) (Formatter, error) {
	f, ok := formatters[strings.ToLower(format)]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (want one of %v)", format, Formats())
	}
	return f, nil
}

// Summary counts findings by severity, separating suppressed ones.
type Summary struct {
	Errors     int `json:"errors"`
	Warnings   int `json:"warnings"`
	Notes      int `json:"notes"`
	Suppressed int `json:"suppressed"`
	Files      int `json:"files"`
}

// Summarize counts r's findings.
func Summarize(r *Report) Summary {
	s := Summary{Files: r.FilesChecked}
	for _, f := range r.Findings {
		if f.Suppressed() {
			s.Suppressed++
			continue
		}
		switch f.Severity {
		case finding.SeverityError:
			s.Errors++
		case finding.SeverityWarning:
			s.Warnings++
		case finding.SeverityNote:
			s.Notes++
		}
	}
	return s
}

// source returns the content of the file at p, reading it again when
// Sources holds its path without content; false when Sources does not know
// the path.
func (r *Report) source(p string) ([]byte, bool) {
	src, ok := r.Sources[p]
	if ok && src == nil && r.ReadSource != nil {
		return r.ReadSource(p)
	}
	return src, ok
}
