package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// workflowCommand is a command as the GitHub Actions runner reads it from a
// line of a step's output (actions/runner ActionCommand.TryParseV2):
// "::" NAME [" " KEY=VALUE ("," KEY=VALUE)*] "::" DATA, with property
// values and data unescaped (%25 %0D %0A, and %3A %2C in properties).
type workflowCommand struct {
	Name       string
	Properties map[string]string
	Data       string
}

func parseWorkflowCommand(line string) (workflowCommand, bool) {
	if !strings.HasPrefix(line, "::") {
		return workflowCommand{}, false
	}
	end := strings.Index(line[2:], "::")
	if end < 0 {
		return workflowCommand{}, false
	}
	info, data := line[2:2+end], line[2+end+2:]
	cmd := workflowCommand{Properties: map[string]string{}}
	name, props, hasProps := strings.Cut(info, " ")
	cmd.Name = name
	if hasProps {
		for _, p := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return workflowCommand{}, false
			}
			cmd.Properties[k] = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(v)
		}
	}
	cmd.Data = strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(data)
	return cmd, true
}

// checkAnnotation fails unless cmd is an annotation as GitHub documents
// them: error, warning or notice, with only the properties file, line,
// col, endLine, endColumn and title, positions positive and ordered.
func checkAnnotation(t *testing.T, line string) workflowCommand {
	t.Helper()
	cmd, ok := parseWorkflowCommand(line)
	if !ok {
		t.Fatalf("not a workflow command: %q", line)
	}
	switch cmd.Name {
	case "error", "warning", "notice":
	default:
		t.Errorf("%q: command %q is not an annotation", line, cmd.Name)
	}
	num := map[string]int{}
	for k, v := range cmd.Properties {
		switch k {
		case "file", "title":
		case "line", "col", "endLine", "endColumn":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Errorf("%q: %s=%q is not a positive number", line, k, v)
			}
			num[k] = n
		default:
			t.Errorf("%q: unknown property %q", line, k)
		}
	}
	if _, ok := num["line"]; ok && cmd.Properties["file"] == "" {
		t.Errorf("%q: a line without a file", line)
	}
	if num["endLine"] < num["line"] || (num["endLine"] == num["line"] && num["endColumn"] < num["col"]) {
		t.Errorf("%q: the end comes before the start", line)
	}
	return cmd
}

func TestGitHubAnnotations(t *testing.T) {
	t.Parallel()
	r := testReport()
	r.Findings = append(r.Findings,
		finding.Finding{
			RuleID: "DWF203", Severity: finding.SeverityError, Path: "a,b:c%d/.github/workflows/ci.yml",
			Message:  "100% sure: the step\nruns trivy, then\r\nignores it::really",
			Location: document.Location{Line: 4, Column: 9, EndLine: 6, EndColumn: 2},
		},
		finding.Finding{
			RuleID: "DWF401", Severity: finding.SeverityWarning, Path: "registry.example/app:1",
			Message: "The image runs as root.", Subject: "registry.example/app:1@sha256:abc linux/amd64",
		},
	)
	finding.Sort(r.Findings)
	var buf bytes.Buffer
	if err := formatGitHub(&buf, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := 0
	for _, f := range r.Findings {
		if !f.Suppressed() {
			want++
		}
	}
	if len(lines) != want+1 {
		t.Fatalf("%d lines, want one per unsuppressed finding (%d) and the summary:\n%s", len(lines), want, buf.String())
	}
	if got := lines[len(lines)-1]; got != summaryLine(r) || strings.HasPrefix(got, "::") {
		t.Errorf("last line %q, want the summary", got)
	}
	byRule := map[string]workflowCommand{}
	for _, l := range lines[:len(lines)-1] {
		cmd := checkAnnotation(t, l)
		byRule[cmd.Properties["title"]] = cmd
	}
	if c := byRule["DWF203"]; c.Name != "error" || c.Properties["file"] != "a,b:c%d/.github/workflows/ci.yml" ||
		c.Data != "100% sure: the step\nruns trivy, then\r\nignores it::really" ||
		c.Properties["line"] != "4" || c.Properties["endLine"] != "6" || c.Properties["col"] != "9" {
		t.Errorf("DWF203 does not survive the round trip: %+v", c)
	}
	if c := byRule["DWF401"]; c.Name != "warning" || c.Properties["file"] != "" || !strings.HasPrefix(c.Data, "registry.example/app:1: The image runs as root. [") {
		t.Errorf("an image finding is not a file annotation: %+v", c)
	}
	if c := byRule["DWF201"]; c.Name != "notice" || c.Properties["file"] != ".github/workflows/ci.yml" {
		t.Errorf("a note is a notice: %+v", c)
	}

	// Suppressed findings appear, as notices, only when asked for.
	r.ShowSuppressed = true
	buf.Reset()
	if err := formatGitHub(&buf, r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if strings.Contains(l, "(suppressed: ") {
			n++
			if cmd := checkAnnotation(t, l); cmd.Name != "notice" {
				t.Errorf("a suppressed finding is a %s", cmd.Name)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d suppressed annotations, want 2:\n%s", n, buf.String())
	}
}

func TestFormatNamesAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"GitHub", "SARIF", "Text", "json"} {
		if _, err := New(name); err != nil {
			t.Errorf("New(%q): %v", name, err)
		}
	}
}

// TestGitHubGoldenIsWellFormed: every line of the CLI's github golden but
// the summary is an annotation GitHub accepts.
func TestGitHubGoldenIsWellFormed(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "demo.github"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		checkAnnotation(t, l)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, " problems in ") {
		t.Errorf("the last line is not the summary: %q", last)
	}
}
