package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

// TestTrivyReportSARIF: a report's vulnerabilities become SARIF results
// with their CVSS score as security-severity, an accepted one (from the
// --ignorefile) stays with its justification, an expired entry is DWF001,
// and a vulnerability keeps its fingerprint when a rescan moves it to
// another line.
func TestTrivyReportSARIF(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	vuln := func(id, sev, fixed string, score float64) map[string]any {
		return map[string]any{"VulnerabilityID": id, "PkgName": "openssl", "InstalledVersion": "3.0.11", "FixedVersion": fixed, "Severity": sev,
			"CVSS": map[string]any{"nvd": map[string]any{"V3Score": score}}}
	}
	write := func(name string, v any) {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := func(vulns ...any) map[string]any {
		return map[string]any{"SchemaVersion": 2, "CreatedAt": "2026-05-31T00:00:00Z", "ArtifactName": "app:1",
			"Results": []any{map[string]any{"Target": "app:1 (debian 12.5)", "Class": "os-pkgs", "Vulnerabilities": vulns}}}
	}
	write("trivy.json", report(vuln("CVE-2024-1", "HIGH", "3.0.14", 7.5), vuln("CVE-2024-2", "CRITICAL", "", 9.8)))
	// The rescan lists a new vulnerability first: the others move down.
	write("rescan.json", report(vuln("CVE-2024-0", "LOW", "", 2.0), vuln("CVE-2024-1", "HIGH", "3.0.14", 7.5), vuln("CVE-2024-2", "CRITICAL", "", 9.8)))
	ignore := "vulnerabilities:\n  - id: CVE-2024-2\n    statement: no fix; not reachable\n    expired_at: 2026-07-01\n  - id: CVE-2023-9\n    expired_at: 2026-01-01\n"
	if err := os.WriteFile(filepath.Join(dir, "accept.yaml"), []byte(ignore), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

	type result struct {
		Rule, Severity, Fingerprint, Justification string
		Line                                       int
	}
	sarifOf := func(file string) []result {
		t.Helper()
		stdout, stderr, code := runAt(t, dir, now, "check", "--format", "sarif", "--ignorefile", "accept.yaml", file)
		if code != ExitFindings {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
		out := filepath.Join(t.TempDir(), "out.sarif")
		if err := os.WriteFile(out, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		sarifvalidate.Validate(t, out)
		var log struct {
			Runs []struct {
				Results []struct {
					RuleID              string            `json:"ruleId"`
					PartialFingerprints map[string]string `json:"partialFingerprints"`
					Properties          map[string]string `json:"properties"`
					Suppressions        []struct {
						Justification string `json:"justification"`
					} `json:"suppressions"`
					Locations []struct {
						PhysicalLocation struct {
							Region struct {
								StartLine int `json:"startLine"`
							} `json:"region"`
						} `json:"physicalLocation"`
					} `json:"locations"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(stdout), &log); err != nil {
			t.Fatal(err)
		}
		var rs []result
		for _, r := range log.Runs[0].Results {
			res := result{Rule: r.RuleID, Severity: r.Properties["security-severity"], Fingerprint: r.PartialFingerprints["primaryLocationLineHash"],
				Line: r.Locations[0].PhysicalLocation.Region.StartLine}
			for _, s := range r.Suppressions {
				res.Justification = s.Justification
			}
			rs = append(rs, res)
		}
		return rs
	}
	first := sarifOf("trivy.json")
	var summary []string
	for _, r := range first {
		summary = append(summary, strings.TrimSpace(r.Rule+" "+r.Severity+" "+r.Justification))
	}
	want := "DWF001|DWF401 7.5|DWF401 9.8 no fix; not reachable"
	if got := strings.Join(summary, "|"); got != want {
		t.Errorf("results %q, want %q", got, want)
	}
	second := sarifOf("rescan.json")
	byLine := func(rs []result) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			if r.Rule == "DWF401" {
				m[r.Fingerprint] = r.Line
			}
		}
		return m
	}
	a, b := byLine(first), byLine(second)
	if len(a) != 2 {
		t.Fatalf("fingerprints %v", a)
	}
	for fp, line := range a {
		if l2, ok := b[fp]; !ok || l2 == line {
			t.Errorf("fingerprint %s: line %d, after the rescan %d (found %v): want the same fingerprint at another line", fp, line, l2, ok)
		}
	}
}
