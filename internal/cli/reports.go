package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/engine/report"
)

// outputFlags are shared by every command that reports findings.
type outputFlags struct {
	format         string
	output         string
	reports        []string
	failOn         string
	showSuppressed bool
	quiet          bool
	color          string
	strictPaths    bool // check only
}

func (o *outputFlags) register(cmd *cobra.Command) {
	formats := strings.Join(report.Formats(), ", ")
	cmd.Flags().StringVarP(&o.format, "format", "f", "text", "output format, in any case: "+formats)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output; a text report then goes to standard error too (unless --quiet)")
	cmd.Flags().StringArrayVar(&o.reports, "report", nil, "also write a report in another format, `FORMAT=FILE` (repeatable; FILE - is standard output), so one run feeds several tools: --report sarif=dwf-policy.sarif --report junit=junit.xml")
	cmd.Flags().StringVar(&o.failOn, "fail-on", "error", "exit 1 when a finding is at or above this severity: error, warning, note or none")
	cmd.Flags().BoolVar(&o.showSuppressed, "show-suppressed", false, "list suppressed findings in text and github output too")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "with --output, write no text report to standard error")
	cmd.Flags().StringVar(&o.color, "color", "auto", "colour the text report: auto (on a terminal, unless NO_COLOR is set), always or never; on a terminal each finding also shows its source line with a caret under the column")
}

// destination is one report of a run: a format and where it goes.
type destination struct {
	formatter report.Formatter
	format    string // as normalised: lowercase
	file      string // "" is standard output
}

// validate checks the flag values before any work is done and returns the
// reports to write: --format's first, then every --report in order.
func (o *outputFlags) validate() ([]destination, finding.Severity, error) {
	f, err := report.New(o.format)
	if err != nil {
		return nil, 0, usageError("--format: %v", err)
	}
	dests := []destination{{formatter: f, format: strings.ToLower(o.format), file: o.output}}
	for _, r := range o.reports {
		name, file, ok := strings.Cut(r, "=")
		if !ok || file == "" {
			return nil, 0, usageError("--report %q: want FORMAT=FILE (FILE - is standard output)", r)
		}
		f, err := report.New(name)
		if err != nil {
			return nil, 0, usageError("--report %q: %v", r, err)
		}
		if file == "-" {
			file = ""
		}
		dests = append(dests, destination{formatter: f, format: strings.ToLower(name), file: file})
	}
	seen := map[string]bool{}
	for _, d := range dests {
		if seen[d.file] {
			if d.file == "" {
				return nil, 0, usageError("more than one report goes to standard output: give all but one a file (--output FILE, --report FORMAT=FILE)")
			}
			return nil, 0, usageError("more than one report goes to %s", d.file)
		}
		seen[d.file] = true
	}
	switch strings.ToLower(o.color) {
	case "auto", "always", "never":
	default:
		return nil, 0, usageError("--color: unknown value %q (want auto, always or never)", o.color)
	}
	sev, err := finding.ParseSeverity(o.failOn)
	if err != nil || o.failOn == "off" {
		return nil, 0, usageError("--fail-on: unknown severity %q (want error, warning, note or none)", o.failOn)
	}
	return dests, sev, nil
}

// stderrText reports whether a text report goes to standard error too: the
// --format report goes to a file (--output), so the log of a CI job would
// otherwise show no reason for a failure, and no text report goes to
// standard output already.
func (o *outputFlags) stderrText(dests []destination) bool {
	if o.quiet || o.output == "" {
		return false
	}
	for _, d := range dests {
		if d.file == "" && d.format == "text" {
			return false
		}
	}
	return true
}

// report prints what could not be checked, writes the reports and decides
// the exit code: 2 when something could not be checked, else 1 when a
// finding is at or above --fail-on.
func (c Command) report(dests []destination, failOn finding.Severity, set *policyset.Set, res *check.Result, fl outputFlags) error {
	for _, n := range res.Notes {
		fmt.Fprintf(c.Stderr, "dwf-policy: note: %s\n", n)
	}
	for _, u := range res.Unmatched {
		fmt.Fprintf(c.Stderr, "dwf-policy: warning: %s\n", u)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(c.Stderr, "dwf-policy: %v\n", p.Err)
		if p.Hint != "" {
			fmt.Fprintf(c.Stderr, "dwf-policy:   %s\n", p.Hint)
		}
	}
	rep := &report.Report{
		Tool:           report.Tool{Name: "dwf-policy", Version: version(), InformationURI: InformationURI},
		Rules:          set.Engine.Rules(),
		Findings:       res.Findings,
		Sources:        res.Sources,
		ReadSource:     res.ReadSource,
		FilesChecked:   res.Checked,
		Inputs:         res.Inputs,
		ShowSuppressed: fl.showSuppressed,
		URIBase:        res.URIBase,
		Time:           time.Now(),
	}
	if c.Now != nil {
		rep.Time = c.Now()
	}
	var errs []error
	for _, d := range dests {
		r := rep
		if d.file == "" && d.format == "text" {
			r = c.forTerminal(rep, c.Stdout, fl.color)
		}
		if err := c.writeReport(d.formatter, r, d.file); err != nil {
			errs = append(errs, err)
		}
	}
	if fl.stderrText(dests) {
		text, _ := report.New("text")
		if err := text.Format(c.Stderr, c.forTerminal(rep, c.Stderr, fl.color)); err != nil {
			errs = append(errs, fmt.Errorf("writing the text report to standard error: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if res.Err != nil {
		return &exitError{code: ExitError, err: res.Err}
	}
	if fl.strictPaths && len(res.Unmatched) > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("--strict-paths: %d of the paths given led to nothing checked", len(res.Unmatched))}
	}
	if finding.CountAtLeast(res.Findings, failOn) > 0 {
		return &exitError{code: ExitFindings}
	}
	return nil
}

// writeReport writes to output (see writeFile) or, when output is "", to
// standard output.
func (c Command) writeReport(f report.Formatter, rep *report.Report, output string) error {
	if output == "" {
		return f.Format(c.Stdout, rep)
	}
	if !filepath.IsAbs(output) && c.WorkDir != "" {
		output = filepath.Join(c.WorkDir, output)
	}
	if err := writeFile(output, func(w io.Writer) error { return f.Format(w, rep) }); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// forTerminal returns rep as the text report shows it on w: on a terminal
// with colour (unless --color never, or NO_COLOR with --color auto) and
// with source snippets; elsewhere plain, exactly one line per finding,
// unless --color always.
func (c Command) forTerminal(rep *report.Report, w io.Writer, color string) *report.Report {
	tty := c.isTerminal(w)
	r := *rep
	r.Snippets = tty
	switch strings.ToLower(color) {
	case "always":
		r.Color = true
	case "never":
		r.Color = false
	default:
		r.Color = tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	}
	return &r
}

// isTerminal reports whether w is a terminal: Command.TTY in tests, else
// a file the terminal ioctl answers for. A character device is not enough:
// /dev/null is one, and a report sent there (hyperfine, cron) must not pay
// for snippets and colours nobody reads.
func (c Command) isTerminal(w io.Writer) bool {
	if c.TTY {
		return w == c.Stdout || w == c.Stderr
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}
