package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var testTool = Tool{Name: "dwf-policy", Version: "1.2.3", InformationURI: "https://github.com/devflow/dwf-policy"}

var testRules = []finding.Rule{
	{
		ID: "DWF101", Name: "dockerfile/non-root-user", Kind: document.KindDockerfile, Severity: finding.SeverityError,
		Title:       "Containers must not run as root",
		Description: "The final stage of a Dockerfile must switch to a non-root user.",
		Help:        "Add a user and switch to it in the final stage:\n\n```dockerfile\nUSER 10001:10001\n```",
	},
	{
		ID: "DWF102", Name: "dockerfile/pin-base-image", Kind: document.KindDockerfile, Severity: finding.SeverityWarning,
		Title:       "Base images must be pinned by digest",
		Description: "A tag can move; a digest cannot.",
		Help:        "Use `FROM image:tag@sha256:<digest>`.",
	},
	{
		ID: "DWF201", Name: "workflow/pin-actions", Kind: document.KindWorkflow, Severity: finding.SeverityNote,
		Title:       "Actions should be pinned by commit",
		Description: "Third-party actions referenced by tag can change under you.",
		Help:        "Use `uses: owner/repo@<40-hex commit> # vX.Y.Z`.",
	},
	{
		ID: "DWF401", Name: "image/critical-vulnerabilities", Kind: document.KindImage, Severity: finding.SeverityError,
		Title:       "Images must not have critical vulnerabilities",
		Description: "An image with fixable critical vulnerabilities must not be deployed.",
		Help:        "Update the base image or the affected packages.",
	},
	{
		// Never fires in the goldens: every rule is described anyway.
		ID: "DWF501", Name: "kubernetes/read-only-root-filesystem", Kind: document.KindKubernetes, Severity: finding.SeverityWarning,
		Title:       "Containers should have a read-only root filesystem",
		Description: "A writable root filesystem makes persistence after a compromise easy.",
		Help:        "Set `securityContext.readOnlyRootFilesystem: true`.",
	},
}

const testDockerfile = "FROM alpine:3.19\nRUN apk add --no-cache curl\nUSER root\nCMD [\"curl\", \"--version\"]\n"

func testReport() *Report {
	findings := []finding.Finding{
		{
			RuleID: "DWF102", Severity: finding.SeverityWarning, Path: "Dockerfile",
			Message:      "Pin alpine:3.19 by digest: FROM alpine:3.19@sha256:<digest>.",
			Location:     document.Location{Line: 1, Column: 6, EndLine: 1, EndColumn: 16},
			Suppressions: []finding.Suppression{{Kind: "external", Justification: "pinned by Renovate (.dwf-policy.yaml)"}},
		},
		{
			RuleID: "DWF401", Severity: finding.SeverityError, Path: "Dockerfile",
			Message:  "The image has 2 fixable critical vulnerabilities (CVE-2024-0001, CVE-2024-0002); update the base image.",
			Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 16},
			Subject:  "docker.io/library/alpine:3.19@sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b linux/amd64",
		},
		{
			RuleID: "DWF101", Severity: finding.SeverityError, Path: "Dockerfile",
			Message:      "The final stage runs as root; add USER with a non-root UID.",
			Location:     document.Location{Line: 3, Column: 1, EndLine: 3, EndColumn: 9},
			Suppressions: []finding.Suppression{{Kind: "inSource", Justification: "build image, never deployed"}},
		},
		{
			// Something missing: no position, reported at line 1.
			RuleID: "DWF101", Severity: finding.SeverityError, Path: "build dir/Dockerfile",
			Message: "The final stage has no USER instruction and runs as root; add USER with a non-root UID.",
		},
		{
			// No source: no fingerprint.
			RuleID: "DWF201", Severity: finding.SeverityNote, Path: ".github/workflows/ci.yml",
			Message:  "Pin actions/checkout@v4 to a full commit SHA.",
			Location: document.Location{Line: 12, Column: 15, EndLine: 12, EndColumn: 34},
		},
	}
	finding.Sort(findings)
	return &Report{
		Tool:     testTool,
		Rules:    testRules,
		Findings: findings,
		Sources: map[string][]byte{
			"Dockerfile":           []byte(testDockerfile),
			"build dir/Dockerfile": []byte("FROM scratch\r\nCOPY app /app\r\n"),
		},
		FilesChecked: 3,
	}
}

func TestSARIFGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		report *Report
	}{
		{"findings", testReport()},
		{"no-findings", &Report{Tool: testTool, Rules: testRules, FilesChecked: 1}},
		{"no-rules", &Report{Tool: Tool{Name: "dwf-policy", Version: "dev"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := formatToBytes(t, tt.report)
			if !bytes.HasSuffix(got, []byte("}\n")) {
				t.Errorf("output does not end with a newline")
			}
			if again := formatToBytes(t, tt.report); !bytes.Equal(got, again) {
				t.Errorf("output differs between two runs")
			}

			golden := filepath.Join("testdata", "sarif", tt.name+".sarif")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(parseJSON(t, want), parseJSON(t, got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}

			out := filepath.Join(t.TempDir(), tt.name+".sarif")
			if err := os.WriteFile(out, got, 0o644); err != nil {
				t.Fatal(err)
			}
			sarifvalidate.Validate(t, out)
		})
	}
}

// TestSARIFContract checks, independently of the goldens (which -update
// rewrites), the properties GitHub code scanning depends on.
func TestSARIFContract(t *testing.T) {
	t.Parallel()
	r := testReport()
	var log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID                   string
						Name                 string
						DefaultConfiguration struct{ Level string }
						Properties           map[string]any
					}
				}
			}
			Results []struct {
				RuleID              string
				RuleIndex           *int
				Level               string
				PartialFingerprints map[string]string
				Locations           []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI, URIBaseID string }
						Region           struct{ StartLine, StartColumn, EndLine, EndColumn int }
					}
					LogicalLocations []struct{ Name, FullyQualifiedName, Kind string }
				}
				Suppressions []struct{ Kind, Status, Justification string }
			}
		}
	}
	if err := json.Unmarshal(formatToBytes(t, r), &log); err != nil {
		t.Fatal(err)
	}
	if log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || log.Version != "2.1.0" {
		t.Errorf("$schema %q, version %q", log.Schema, log.Version)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want exactly 1", len(log.Runs))
	}
	run := log.Runs[0]

	rules := run.Tool.Driver.Rules
	if len(rules) != len(r.Rules) {
		t.Fatalf("%d rules, want all %d of the catalogue", len(rules), len(r.Rules))
	}
	wantSeverity := map[string]string{"error": "8.0", "warning": "5.0", "note": "2.0"}
	for i, rule := range rules {
		if rule.ID != r.Rules[i].ID || rule.Name != r.Rules[i].Name {
			t.Errorf("rules[%d] = %s %s, want %s %s (catalogue order)", i, rule.ID, rule.Name, r.Rules[i].ID, r.Rules[i].Name)
		}
		if s, ok := rule.Properties["security-severity"].(string); !ok || s != wantSeverity[rule.DefaultConfiguration.Level] {
			t.Errorf("rules[%d] (%s) security-severity = %#v, want the string %q", i, rule.DefaultConfiguration.Level,
				rule.Properties["security-severity"], wantSeverity[rule.DefaultConfiguration.Level])
		}
		tags, _ := rule.Properties["tags"].([]any)
		if len(tags) != 2 || tags[0] != "security" || tags[1] != string(r.Rules[i].Kind) {
			t.Errorf("rules[%d] tags = %v, want [security %s]", i, tags, r.Rules[i].Kind)
		}
	}

	if len(run.Results) != len(r.Findings) {
		t.Fatalf("%d results for %d findings (suppressed ones included)", len(run.Results), len(r.Findings))
	}
	for i, res := range run.Results {
		f := r.Findings[i]
		if res.RuleIndex == nil || rules[*res.RuleIndex].ID != res.RuleID || res.RuleID != f.RuleID {
			t.Errorf("results[%d]: ruleId %s, ruleIndex %v: want %s and its index", i, res.RuleID, res.RuleIndex, f.RuleID)
		}
		if res.Level != f.Severity.String() {
			t.Errorf("results[%d]: level %s, want %s", i, res.Level, f.Severity)
		}
		if len(res.Locations) != 1 {
			t.Fatalf("results[%d]: %d locations, want 1", i, len(res.Locations))
		}
		loc := res.Locations[0]
		reg := loc.PhysicalLocation.Region
		if reg.StartLine < 1 || reg.StartColumn < 1 || reg.EndLine < reg.StartLine || reg.EndColumn <= reg.StartColumn && reg.EndLine == reg.StartLine {
			t.Errorf("results[%d]: bad region %+v", i, reg)
		}
		if loc.PhysicalLocation.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("results[%d]: uriBaseId %q", i, loc.PhysicalLocation.ArtifactLocation.URIBaseID)
		}
		_, hasSource := r.Sources[f.Path]
		if _, ok := res.PartialFingerprints["primaryLocationLineHash"]; ok != hasSource {
			t.Errorf("results[%d] (%s): primaryLocationLineHash present = %v, source present = %v", i, f.Path, ok, hasSource)
		}
		if (len(loc.LogicalLocations) == 1 && loc.LogicalLocations[0].FullyQualifiedName == f.Subject &&
			loc.LogicalLocations[0].Kind == "resource") != (f.Subject != "") {
			t.Errorf("results[%d]: logicalLocations %+v for subject %q", i, loc.LogicalLocations, f.Subject)
		}
		if len(res.Suppressions) != len(f.Suppressions) {
			t.Errorf("results[%d]: %d suppressions, want %d", i, len(res.Suppressions), len(f.Suppressions))
		}
		for j, s := range res.Suppressions {
			if s.Kind != f.Suppressions[j].Kind || s.Status != "accepted" || s.Justification != f.Suppressions[j].Justification {
				t.Errorf("results[%d].suppressions[%d] = %+v", i, j, s)
			}
		}
	}
}

func TestSARIFEmptyResultsIsAnArray(t *testing.T) {
	t.Parallel()
	for _, r := range []*Report{{}, {Tool: testTool, Rules: testRules}} {
		out := formatToBytes(t, r)
		var log struct {
			Runs []struct {
				Tool struct {
					Driver struct{ Rules json.RawMessage }
				}
				Results json.RawMessage
			}
		}
		if err := json.Unmarshal(out, &log); err != nil {
			t.Fatal(err)
		}
		if len(log.Runs) != 1 || string(log.Runs[0].Results) != "[]" || string(log.Runs[0].Tool.Driver.Rules) == "null" {
			t.Errorf("want one run with \"results\": [] and a rules array, got:\n%s", out)
		}
	}
}

// A finding's primaryLocationLineHash is the hash of its start line, taken
// from the finding's source; out-of-range lines and missing sources get none.
func TestSARIFFingerprints(t *testing.T) {
	t.Parallel()
	const eofLine = "c129715d7a2bc9a3:1"
	src := []byte(testDockerfile)
	hs := hashStrings(src)
	tests := []struct {
		name    string
		sources map[string][]byte
		loc     document.Location
		want    string // "" for no fingerprint
	}{
		{"line 3", map[string][]byte{"f": src}, document.Location{Line: 3, Column: 2}, hs[2]},
		{"zero location is line 1", map[string][]byte{"f": src}, document.Location{}, hs[0]},
		{"empty source", map[string][]byte{"f": {}}, document.Location{}, eofLine},
		{"nil source present", map[string][]byte{"f": nil}, document.Location{Line: 1}, eofLine},
		{"line after the end", map[string][]byte{"f": src}, document.Location{Line: 99}, ""},
		{"no source", map[string][]byte{"other": src}, document.Location{Line: 1}, ""},
		{"no sources at all", nil, document.Location{Line: 1}, ""},
	}
	for _, tt := range tests {
		r := &Report{
			Tool:     testTool,
			Rules:    testRules,
			Sources:  tt.sources,
			Findings: []finding.Finding{{RuleID: "DWF101", Severity: finding.SeverityError, Message: "m", Path: "f", Location: tt.loc}},
		}
		var log struct {
			Runs []struct {
				Results []struct{ PartialFingerprints map[string]string }
			}
		}
		if err := json.Unmarshal(formatToBytes(t, r), &log); err != nil {
			t.Fatal(err)
		}
		if got := log.Runs[0].Results[0].PartialFingerprints["primaryLocationLineHash"]; got != tt.want {
			t.Errorf("%s: primaryLocationLineHash = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSARIFArtifactURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, base   string // base: URIBase maps every path to it when set
		want         string
		wantRelative bool
	}{
		{path: "Dockerfile", want: "Dockerfile", wantRelative: true},
		{path: "./Dockerfile", want: "Dockerfile", wantRelative: true},
		{path: "././a//b/../c", want: "a/c", wantRelative: true},
		{path: "build dir/Dockerfile", want: "build%20dir/Dockerfile", wantRelative: true},
		{path: "a:b/c:d", want: "a%3Ab/c:d", wantRelative: true}, // else "a:" reads as a scheme
		{path: "100%/x#1?.yml", want: "100%25/x%231%3F.yml", wantRelative: true},
		{path: "d\u00e9j\u00e0/\u2603", want: "d%C3%A9j%C3%A0/%E2%98%83", wantRelative: true},
		{path: "a\\b", want: "a%5Cb", wantRelative: true},
		{path: "sub-delims/!$&'()*+,;=@~_.yml", want: "sub-delims/!$&'()*+,;=@~_.yml", wantRelative: true},
		{path: "/abs/dir/a b", want: "file:///abs/dir/a%20b"},
		{path: "/abs/repo/x y/Dockerfile", base: "x y/Dockerfile", want: "x%20y/Dockerfile", wantRelative: true},
		{path: "/abs/repo/Dockerfile", base: "./Dockerfile", want: "Dockerfile", wantRelative: true},
	}
	for _, tt := range tests {
		r := &Report{}
		if tt.base != "" {
			r.URIBase = func(string) string { return tt.base }
		}
		b := sarifBuilder{report: r}
		got, relative := b.artifactURI(tt.path)
		if got != tt.want || relative != tt.wantRelative {
			t.Errorf("artifactURI(%q) = %q, %v; want %q, %v", tt.path, got, relative, tt.want, tt.wantRelative)
		}
	}
}

func TestSARIFUnusualInput(t *testing.T) {
	t.Parallel()
	// None of these may panic, and each must still produce one result per
	// finding with a region at line 1 or later.
	r := &Report{
		Rules: []finding.Rule{{ID: "X1"}, {ID: "X1", Title: "duplicate ID"}},
		Findings: []finding.Finding{
			{RuleID: "X1", Path: ""},
			{RuleID: "UNKNOWN", Path: "f", Severity: finding.SeverityWarning, Location: document.Location{Line: -3, Column: -1, EndLine: -2}},
			{RuleID: "X1", Path: "f", Suppressions: []finding.Suppression{{}}},
		},
		Sources: map[string][]byte{"": nil, "f": []byte("\xff\r")},
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleIndex *int
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						Region struct{ StartLine, EndLine int }
					}
				}
				Suppressions []struct{ Kind string }
			}
		}
	}
	if err := json.Unmarshal(formatToBytes(t, r), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Tool.Driver.Rules) != 1 {
		t.Errorf("duplicate rule IDs: want 1 descriptor, got %d", len(run.Tool.Driver.Rules))
	}
	if len(run.Results) != 3 {
		t.Fatalf("%d results, want 3", len(run.Results))
	}
	for i, res := range run.Results {
		if res.Message.Text == "" {
			t.Errorf("results[%d]: empty message text", i)
		}
		if reg := res.Locations[0].PhysicalLocation.Region; reg.StartLine < 1 || reg.EndLine < reg.StartLine {
			t.Errorf("results[%d]: region %+v", i, reg)
		}
	}
	// Sorted: "" before "f"; the unknown rule has no ruleIndex.
	if run.Results[1].RuleIndex != nil {
		t.Errorf("unknown rule: ruleIndex %d, want none", *run.Results[1].RuleIndex)
	}
	if s := run.Results[2].Suppressions; len(s) != 1 || s[0].Kind != "external" {
		t.Errorf("suppression without kind: got %+v, want kind external", s)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSARIFWriteError(t *testing.T) {
	t.Parallel()
	err := formatSARIF(failingWriter{}, testReport())
	if err == nil || !strings.HasPrefix(err.Error(), "writing sarif: ") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("formatSARIF to a failing writer: err = %v, want writing sarif: ... disk full", err)
	}
}

func TestSARIFDoesNotModifyReport(t *testing.T) {
	t.Parallel()
	r := testReport()
	// Reverse the findings: the formatter sorts a copy.
	for i, j := 0, len(r.Findings)-1; i < j; i, j = i+1, j-1 {
		r.Findings[i], r.Findings[j] = r.Findings[j], r.Findings[i]
	}
	before := testReport()
	for i, j := 0, len(before.Findings)-1; i < j; i, j = i+1, j-1 {
		before.Findings[i], before.Findings[j] = before.Findings[j], before.Findings[i]
	}
	out := formatToBytes(t, r)
	if diff := cmp.Diff(before.Findings, r.Findings); diff != "" {
		t.Errorf("findings changed (-before +after):\n%s", diff)
	}
	if !bytes.Equal(out, formatToBytes(t, testReport())) {
		t.Errorf("output depends on the order of r.Findings")
	}
}

func TestSARIFRegisteredFormat(t *testing.T) {
	t.Parallel()
	f, err := New("sarif")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Format(&buf, testReport()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), formatToBytes(t, testReport())) {
		t.Errorf(`New("sarif") does not write formatSARIF's output`)
	}
}

func formatToBytes(t *testing.T, r *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := formatSARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func parseJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("parsing JSON: %v\n%s", err, data)
	}
	return v
}

// TestSARIFSemanticVersion: semanticVersion only when the version is one.
func TestSARIFSemanticVersion(t *testing.T) {
	t.Parallel()
	for version, want := range map[string]string{
		"v1.4.2":                               "1.4.2",
		"1.2.3":                                "1.2.3",
		"0.0.0-dev+3f2a1b9c4d5e":               "0.0.0-dev+3f2a1b9c4d5e",
		"0.0.0-dev+3f2a1b9c4d5e.dirty":         "0.0.0-dev+3f2a1b9c4d5e.dirty",
		"v0.2.1-0.20240101120000-3f2a1b9c4d5e": "0.2.1-0.20240101120000-3f2a1b9c4d5e",
		"dev":                                  "",
		"1.2":                                  "",
	} {
		d := buildSARIF(&Report{Tool: Tool{Name: "dwf-policy", Version: version}}).Runs[0].Tool.Driver
		got := ""
		if d.SemanticVersion != nil {
			got = *d.SemanticVersion
		}
		if got != want || *d.Version != version {
			t.Errorf("version %q: semanticVersion %q, want %q", version, got, want)
		}
	}
}
