package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// checkCodeQuality fails unless data is a GitLab Code Quality report as
// GitLab documents it: a JSON array of issues, each with a description,
// a check_name, a unique fingerprint, a severity of info, minor, major,
// critical or blocker, a location.path and a location.lines.begin.
func checkCodeQuality(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var issues []map[string]any
	if err := json.Unmarshal(data, &issues); err != nil {
		t.Fatalf("not a JSON array of objects: %v\n%s", err, data)
	}
	fingerprints := map[string]bool{}
	for i, is := range issues {
		for _, k := range []string{"description", "check_name", "fingerprint", "severity"} {
			if s, ok := is[k].(string); !ok || s == "" {
				t.Errorf("issue %d: %s is %v, want a non-empty string", i, k, is[k])
			}
		}
		switch is["severity"] {
		case "info", "minor", "major", "critical", "blocker":
		default:
			t.Errorf("issue %d: severity %v", i, is["severity"])
		}
		fp, _ := is["fingerprint"].(string)
		if fingerprints[fp] {
			t.Errorf("issue %d: fingerprint %s is not unique", i, fp)
		}
		fingerprints[fp] = true
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(fp) {
			t.Errorf("issue %d: fingerprint %q", i, fp)
		}
		loc, _ := is["location"].(map[string]any)
		if p, ok := loc["path"].(string); !ok || p == "" {
			t.Errorf("issue %d: location.path %v", i, loc["path"])
		}
		lines, _ := loc["lines"].(map[string]any)
		if b, ok := lines["begin"].(float64); !ok || b < 1 || b != float64(int(b)) {
			t.Errorf("issue %d: location.lines.begin %v", i, lines["begin"])
		}
		if e, ok := lines["end"]; ok && e.(float64) < lines["begin"].(float64) {
			t.Errorf("issue %d: location.lines.end %v before begin", i, e)
		}
	}
	return issues
}

func formatGitLabString(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := formatGitLab(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGitLabCodeQuality(t *testing.T) {
	t.Parallel()
	r := testReport()
	// Two findings alike in everything but their place on identical lines.
	r.Sources["dup/Dockerfile"] = []byte("FROM alpine:3\nFROM alpine:3\n")
	for _, line := range []int{1, 2} {
		r.Findings = append(r.Findings, finding.Finding{
			RuleID: "DWF102", Severity: finding.SeverityWarning, Path: "dup/Dockerfile", Message: "Pin it.",
			Location: document.Location{Line: line, Column: 6, EndLine: line, EndColumn: 13},
		})
	}
	r.URIBase = func(p string) string { return "repo/" + p }
	finding.Sort(r.Findings)
	issues := checkCodeQuality(t, formatGitLabString(t, r))
	unsuppressed := 0
	for _, f := range r.Findings {
		if !f.Suppressed() {
			unsuppressed++
		}
	}
	if len(issues) != unsuppressed {
		t.Errorf("%d issues, want one per unsuppressed finding (%d)", len(issues), unsuppressed)
	}
	first := issues[0]
	if first["location"].(map[string]any)["path"] != "repo/.github/workflows/ci.yml" || first["severity"] != "info" || first["check_name"] != "DWF201" {
		t.Errorf("first issue %v", first)
	}

	// A fingerprint does not change when the line moves.
	moved := testReport()
	moved.Sources["Dockerfile"] = append([]byte("# a comment\n"), moved.Sources["Dockerfile"]...)
	for i := range moved.Findings {
		if moved.Findings[i].Path == "Dockerfile" {
			moved.Findings[i].Location.Line++
			moved.Findings[i].Location.EndLine++
		}
	}
	before := checkCodeQuality(t, formatGitLabString(t, testReport()))
	after := checkCodeQuality(t, formatGitLabString(t, moved))
	for i := range before {
		if before[i]["check_name"] == "DWF401" && before[i]["fingerprint"] != after[i]["fingerprint"] {
			t.Errorf("the fingerprint of %v changed when its line moved", before[i]["check_name"])
		}
	}

	if got := string(formatGitLabString(t, &Report{Tool: testTool})); got != "[]\n" {
		t.Errorf("no findings: %q, want an empty array", got)
	}
}

// TestGitLabGoldenIsValid: the CLI's golden has the documented fields.
func TestGitLabGoldenIsValid(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "demo.gitlab.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(checkCodeQuality(t, raw)) == 0 {
		t.Error("the golden has no issues")
	}
}
