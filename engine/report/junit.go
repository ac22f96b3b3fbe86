package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/devflow/dwf-policy/engine/finding"
)

// JUnit XML, what GitLab (artifacts:reports:junit), Jenkins and Azure
// DevOps read as test results. The shape is the Apache Ant JUnit schema,
// the strictest of the JUnit dialects, so every reader accepts it:
// <testsuites> holds one <testsuite> per checked file (with the required
// package, id, timestamp, hostname, counts, time, <properties>,
// <system-out> and <system-err>); each rule that reported something on the
// file is one <testcase> (classname the file, name the rule) with one
// <failure> whose text lists every finding, one per line; a rule whose
// findings are all suppressed is <skipped>; a file with no findings has
// one passing test case named after the tool.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties junitProperties `xml:"properties"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitTimestamp is the schema's ISO 8601 form, without a time zone (UTC).
const junitTimestamp = "2006-01-02T15:04:05"

func formatJUnit(w io.Writer, r *Report) error {
	byPath := map[string][]finding.Finding{}
	for p := range r.Sources {
		byPath[p] = nil
	}
	for _, f := range r.Findings {
		byPath[f.Path] = append(byPath[f.Path], f)
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	slices.Sort(paths)

	titles := map[string]string{}
	for _, rule := range r.Rules {
		titles[rule.ID] = firstNonEmpty(rule.Title, rule.Name)
	}
	stamp := r.Time.UTC().Format(junitTimestamp)
	if r.Time.IsZero() {
		stamp = time.Unix(0, 0).UTC().Format(junitTimestamp)
	}
	out := junitSuites{Suites: make([]junitSuite, 0, len(paths))}
	for i, p := range paths {
		name := p
		if r.URIBase != nil {
			name = r.URIBase(p)
		}
		suite := junitSuite{
			Name: name, Package: name, ID: i, Timestamp: stamp, Hostname: "localhost", Time: "0",
			Properties: junitProperties{Property: []junitProperty{{Name: "tool", Value: strings.TrimSpace(r.Tool.Name + " " + r.Tool.Version)}}},
		}
		fs := byPath[p] // sorted by position: group by rule, in rule order
		rules := map[string][]finding.Finding{}
		var ids []string
		for _, f := range fs {
			if _, ok := rules[f.RuleID]; !ok {
				ids = append(ids, f.RuleID)
			}
			rules[f.RuleID] = append(rules[f.RuleID], f)
		}
		slices.Sort(ids)
		for _, id := range ids {
			suite.Cases = append(suite.Cases, junitRuleCase(name, id, titles[id], rules[id]))
		}
		if len(suite.Cases) == 0 {
			suite.Cases = append(suite.Cases, junitCase{Name: r.Tool.Name, Classname: name, Time: "0"})
		}
		for _, c := range suite.Cases {
			suite.Tests++
			switch {
			case c.Failure != nil:
				suite.Failures++
			case c.Skipped != nil:
				suite.Skipped++
			}
		}
		out.Suites = append(out.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encoding junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitRuleCase is the test case of one rule on one file: a failure listing
// its unsuppressed findings, else skipped when all are suppressed.
func junitRuleCase(path, id, title string, fs []finding.Finding) junitCase {
	c := junitCase{Name: id, Classname: path, Time: "0"}
	if title != "" {
		c.Name = id + ": " + title
	}
	var lines []string
	worst := finding.SeverityNone
	var first finding.Finding
	for _, f := range fs {
		if f.Suppressed() {
			continue
		}
		if len(lines) == 0 {
			first = f
		}
		worst = max(worst, f.Severity)
		lines = append(lines, junitLine(path, f))
	}
	if len(lines) == 0 {
		c.Skipped = &junitSkipped{Message: "suppressed: " + fs[0].Suppressions[0].Justification}
		return c
	}
	msg := junitLine(path, first)
	if len(lines) > 1 {
		msg = fmt.Sprintf("%d findings; the first: %s", len(lines), msg)
	}
	c.Failure = &junitFailure{Message: msg, Type: worst.String(), Text: strings.Join(lines, "\n") + "\n"}
	return c
}

// junitLine is one finding as the text format writes it.
func junitLine(path string, f finding.Finding) string {
	var s string
	if f.Location.IsZero() && f.Subject != "" {
		s = fmt.Sprintf("%s: %s %s %s", path, f.Severity, f.RuleID, f.Message)
	} else {
		loc := f.Location.Normalized()
		s = fmt.Sprintf("%s:%d:%d: %s %s %s", path, loc.Line, loc.Column, f.Severity, f.RuleID, f.Message)
	}
	if f.Subject != "" {
		s += " [" + f.Subject + "]"
	}
	return s
}
