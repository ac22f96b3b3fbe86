package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/finding"
)

func TestVulnerabilitiesSection(t *testing.T) {
	src := `vulnerabilities:
  ignore_unfixed: true
  max: {HIGH: 3, MEDIUM: 10}
  unknown_as: MEDIUM
  max_age: 36h
  require_report: true
  ignore:
    - id: CVE-2024-3094
      packages: [xz-utils]
      paths: ["usr/lib/**"]
      reason: not reachable
      expires: 2026-07-01
    - id: GHSA-xxxx
      reason: dev only
`
	cfg, err := Decode("c.yaml", "/repo", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ignore_unfixed":  true,
		"max":             map[string]any{"HIGH": 3, "MEDIUM": 10},
		"unknown_as":      "MEDIUM",
		"max_age":         "36h",
		"max_age_seconds": 36 * 3600,
		"require_report":  true,
		"ignore": []any{
			map[string]any{"id": "CVE-2024-3094", "packages": []any{"xz-utils"}, "purls": []any{}, "paths": []any{"usr/lib/**"}, "reason": "not reachable", "expires": "2026-07-01", "file": "c.yaml"},
			map[string]any{"id": "GHSA-xxxx", "packages": []any{}, "purls": []any{}, "paths": []any{}, "reason": "dev only", "expires": "", "file": "c.yaml"},
		},
	}
	if diff := cmp.Diff(want, cfg.Data()["vulnerabilities"]); diff != "" {
		t.Errorf("data.dwf.config.vulnerabilities (-want +got):\n%s", diff)
	}
	expired := ExpiredIgnores(cfg.Vulnerabilities.Ignore, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), finding.SeverityError)
	if len(expired) != 1 || expired[0].Location.Line != 12 || expired[0].Path != "c.yaml" {
		t.Errorf("expired: got %+v, want one DWF001 at c.yaml:12", expired)
	}
	if live := ExpiredIgnores(cfg.Vulnerabilities.Ignore, time.Date(2026, 6, 30, 23, 0, 0, 0, time.UTC), finding.SeverityError); len(live) != 0 {
		t.Errorf("the day before the expiry: got %+v, want none", live)
	}
}

func TestVulnerabilitiesErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"reason required", "vulnerabilities:\n  ignore:\n    - id: CVE-1\n", `lacks the required key "reason"`},
		{"bad duration", "vulnerabilities:\n  max_age: 7 days\n", `"7 days" is not a duration`},
		{"duration not a string", "vulnerabilities:\n  max_age: 7\n", "must be a duration"},
		{"bad severity key", "vulnerabilities:\n  max: {SEVERE: 1}\n", `"SEVERE" is not a severity like HIGH`},
		{"negative max", "vulnerabilities:\n  max: {HIGH: -1}\n", "must be at least 0"},
		{"bool", "vulnerabilities:\n  ignore_unfixed: yes please\n", "must be true or false"},
		{"unknown_as", "vulnerabilities:\n  unknown_as: UNKNOWN\n", "is not one of CRITICAL, HIGH, MEDIUM, LOW"},
		{"misspelt", "vulnerabilities:\n  ignore_unfxed: true\n", `did you mean "ignore_unfixed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("c.yaml", "/repo", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadIgnoreFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write(".trivyignore", "# accepted\nCVE-2023-1111\n\nCVE-2023-2222 exp:2026-01-01\n")
	yml := write(".trivyignore.yaml", `vulnerabilities:
  - id: CVE-2022-40897
    paths: ["usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA"]
    statement: Accept the risk
  - id: CVE-2023-3817
    purls: ["pkg:deb/debian/libssl1.1"]
    expired_at: 2026-03-01
misconfigurations:
  - id: AVD-DS-0002
`)
	got, err := LoadIgnoreFile(text, ".trivyignore")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "CVE-2023-1111" || got[1].Expires.Format(time.DateOnly) != "2026-01-01" || got[1].Location.Line != 4 {
		t.Errorf(".trivyignore: got %+v", got)
	}
	got, err = LoadIgnoreFile(yml, ".trivyignore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Reason != "Accept the risk" || len(got[0].Paths) != 1 || got[1].PURLs[0] != "pkg:deb/debian/libssl1.1" || got[1].Location.Line != 7 || got[1].Reason != "listed in .trivyignore.yaml" {
		t.Errorf(".trivyignore.yaml: got %+v", got)
	}
	bad := write("bad.yaml", "vulnerabilities:\n  - paths: [x]\n")
	if _, err := LoadIgnoreFile(bad, "bad.yaml"); err == nil || !strings.Contains(err.Error(), "lacks its id") {
		t.Errorf("entry without id: got %v", err)
	}
	badDate := write("bad2.yaml", "vulnerabilities:\n  - id: CVE-1\n    expired_at: soon\n")
	if _, err := LoadIgnoreFile(badDate, "bad2.yaml"); err == nil || !strings.Contains(err.Error(), "bad2.yaml:3:17") {
		t.Errorf("bad expired_at: got %v", err)
	}
}
