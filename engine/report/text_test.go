package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

func formatTextString(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := formatText(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestTextOneLinePerFinding: whatever a message holds, plain text output is
// one line per finding and the summary.
func TestTextOneLinePerFinding(t *testing.T) {
	t.Parallel()
	r := &Report{Tool: testTool, FilesChecked: 1, Findings: []finding.Finding{{
		RuleID: "ACME1", Severity: finding.SeverityError, Path: "Dockerfile",
		Message:  "`RUN a \\\n  b` is wrong\r\nreally",
		Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 3},
	}}}
	out := formatTextString(t, r)
	if strings.Count(out, "\n") != 2 || strings.ContainsAny(strings.TrimSuffix(out, "\n"), "\r\x1b") {
		t.Errorf("not one line per finding:\n%q", out)
	}
	if !strings.Contains(out, "`RUN a \\ ⏎   b` is wrong ⏎ really") {
		t.Errorf("line breaks are not shown: %q", out)
	}
}

func TestTextSnippetsAndColour(t *testing.T) {
	t.Parallel()
	src := "FROM alpine\n\tRUN  écho hi\nUSER root\n"
	r := &Report{Tool: testTool, FilesChecked: 1, Sources: map[string][]byte{"Dockerfile": []byte(src)}, Snippets: true, Findings: []finding.Finding{
		{RuleID: "DWF104", Severity: finding.SeverityWarning, Path: "Dockerfile", Message: "m",
			Location: document.Location{Line: 2, Column: 7, EndLine: 2, EndColumn: 10}},
		{RuleID: "DWF101", Severity: finding.SeverityError, Path: "Dockerfile", Message: "m",
			Location: document.Location{Line: 3, Column: 1, EndLine: 4, EndColumn: 1}},
		{RuleID: "DWF401", Severity: finding.SeverityError, Path: "app:1", Message: "m", Subject: "app:1@sha256:abc"},
	}}
	finding.Sort(r.Findings)
	want := "Dockerfile:2:7: warning DWF104 m\n" +
		"    \tRUN  écho hi\n" +
		"    \t     ^^^^\n" + // a tab under the tab, a space per character, a caret per column of the region
		"Dockerfile:3:1: error DWF101 m\n" +
		"    USER root\n" +
		"    ^^^^^^^^^\n" + // the region goes on past the line: to its end
		"app:1: error DWF401 m [app:1@sha256:abc]\n" + // no place in a file: no snippet
		"3 problems in 1 file: 2 errors, 1 warning, 0 notes\n"
	if got := formatTextString(t, r); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	r.Color = true
	got := formatTextString(t, r)
	for _, s := range []string{"\x1b[33m\x1b[1mwarning\x1b[0m", "\x1b[31m\x1b[1merror\x1b[0m", "\x1b[1mDWF104\x1b[0m", "\x1b[31m\x1b[1m3 problems"} {
		if !strings.Contains(got, s) {
			t.Errorf("coloured output lacks %q:\n%q", s, got)
		}
	}
}
