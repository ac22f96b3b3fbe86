package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/trivyreport"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// bigReport is a Trivy JSON report of n vulnerabilities shaped like real
// ones (description, references, CVSS, layer and data source; about 2.8
// KiB each): three in five at a blocked severity, one in seven unfixed.
func bigReport(n int) []byte {
	var b strings.Builder
	b.WriteString(`{
  "SchemaVersion": 2,
  "CreatedAt": "2026-05-31T12:00:00Z",
  "ArtifactName": "registry.example/app:1",
  "ArtifactType": "container_image",
  "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}, "ImageID": "sha256:` + strings.Repeat("c", 64) + `",
    "RepoTags": ["registry.example/app:1"], "RepoDigests": ["registry.example/app@sha256:` + strings.Repeat("d", 64) + `"]},
  "Results": [{"Target": "registry.example/app:1 (debian 12.5)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
`)
	sev := []string{"CRITICAL", "HIGH", "HIGH", "MEDIUM", "LOW"}
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fixed := fmt.Sprintf("1.%d.%d", i%13, i%5)
		if i%7 == 0 {
			fixed = ""
		}
		refs := make([]string, 8)
		for k := range refs {
			refs[k] = fmt.Sprintf("%q", fmt.Sprintf("https://example.invalid/%d/%d", i, k))
		}
		fmt.Fprintf(&b, `    {
      "VulnerabilityID": "CVE-2024-%d", "PkgID": "pkg%d@1.0.%d", "PkgName": "pkg%d",
      "PkgIdentifier": {"PURL": "pkg:deb/debian/pkg%d@1.0.%d", "UID": "abc"},
      "InstalledVersion": "1.0.%d", "FixedVersion": %q, "Status": "fixed",
      "Layer": {"Digest": "sha256:%s", "DiffID": "sha256:%s"},
      "SeveritySource": "nvd", "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-%d",
      "DataSource": {"ID": "debian", "Name": "Debian Security Tracker", "URL": "https://salsa.debian.org/security-tracker-team/security-tracker"},
      "Title": "a title", "Description": %q, "Severity": %q, "CweIDs": ["CWE-787"],
      "VendorSeverity": {"debian": 1, "nvd": 3},
      "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": %.1f}},
      "References": [%s],
      "PublishedDate": "2024-01-01T00:00:00Z", "LastModifiedDate": "2024-02-01T00:00:00Z"
    }`, 10000+i, i%400, i%9, i%400, i%400, i%9, i%9, fixed, strings.Repeat("a", 64), strings.Repeat("b", 64), 10000+i,
			strings.Repeat("A long description of the vulnerability copied from the advisory. ", 15), sev[i%5], 7.5+float64(i%25)/10, strings.Join(refs, ", "))
	}
	b.WriteString("\n  ]}]\n}\n")
	return []byte(b.String())
}

// BenchmarkTrivyReport5000 judges a 5,000-vulnerability report through
// the checker, as `dwf-policy check trivy.json` does after start-up.
func BenchmarkTrivyReport5000(b *testing.B) {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "trivy.json"), bigReport(5000), 0o644); err != nil {
		b.Fatal(err)
	}
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	c := check.New(set, check.Options{Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	b.ResetTimer()
	for b.Loop() {
		res := c.Files(context.Background(), []string{"trivy.json"}, check.FilesOptions{})
		if n := len(res.Findings); n < 2500 {
			b.Fatalf("%d findings", n)
		}
	}
}

// BenchmarkTrivyReport5000Stages splits BenchmarkTrivyReport5000 into its
// stages: parse (bytes to document), convert (document to the Rego value
// OPA evaluates) and evaluate (convert, then the trivy-report rules).
func BenchmarkTrivyReport5000Stages(b *testing.B) {
	data := bigReport(5000)
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: b.TempDir(), NoConfigSearch: true})
	if err != nil {
		b.Fatal(err)
	}
	doc, err := trivyreport.Parse("trivy.json", data, trivyreport.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := trivyreport.Parse("trivy.json", data, trivyreport.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("convert", func(b *testing.B) {
		for b.Loop() {
			// As the engine converts it: the vulnerabilities build their
			// own value.
			for _, v := range doc.Input {
				if rv, ok := v.(interface{ RegoValue() ast.Value }); ok {
					rv.RegoValue()
				} else if _, err := ast.InterfaceToValue(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	ctx := engine.WithNow(context.Background(), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	b.Run("evaluate", func(b *testing.B) {
		for b.Loop() {
			fs, err := set.Engine.EvaluateOne(ctx, doc)
			if err != nil || len(fs) < 2500 {
				b.Fatalf("%d findings, %v", len(fs), err)
			}
		}
	})
}

// TestWriteBenchReport writes the report of BenchmarkTrivyReport5000 to
// $DWF_BENCH_REPORT_OUT, for `make bench-trivy` to time the CLI on; it is
// skipped otherwise.
func TestWriteBenchReport(t *testing.T) {
	out := os.Getenv("DWF_BENCH_REPORT_OUT")
	if out == "" {
		t.Skip("DWF_BENCH_REPORT_OUT names no file")
	}
	if err := os.WriteFile(out, bigReport(5000), 0o644); err != nil {
		t.Fatal(err)
	}
}
