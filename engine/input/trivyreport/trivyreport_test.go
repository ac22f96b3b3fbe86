package trivyreport

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestParseGolden parses every testdata/*.json and compares the document
// with testdata/<name>.golden (refreshed with -update).
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	sarifs, _ := filepath.Glob("testdata/*.sarif")
	files = append(files, sarifs...)
	if err != nil || len(files) == 0 {
		t.Fatal("no test reports", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			doc, err := Parse("report.json", data, Options{})
			if perr, ok := errors.AsType[*document.ParseError](err); ok {
				got = map[string]any{"error": perr.Error()}
			} else if err != nil {
				t.Fatal(err)
			} else {
				got = doc.Input
			}
			out, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(strings.TrimSuffix(file, ".json"), ".sarif") + ".golden"
			if *update {
				if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			var w, g any
			_ = json.Unmarshal(want, &w)
			_ = json.Unmarshal(out, &g)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestParseErrors: input that is not a report is a ParseError with a
// position and a message saying what was found, never a crash.
func TestParseErrors(t *testing.T) {
	full, err := os.ReadFile("testdata/alpine.json")
	if err != nil {
		t.Fatal(err)
	}
	statement := func(pt string) string {
		return `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"` + pt + `","subject":[],"predicate":{"buildType":"x"}}`
	}
	dsse := func(payload string) string {
		return `{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString([]byte(payload)) + `","signatures":[]}`
	}
	tests := []struct {
		name, data, want string
	}{
		{"truncated", string(full[:len(full)/2]), "report.json:"},
		{"empty", "", "the report ends early"},
		{"array", "[1,2]", "not a JSON object"},
		{"other object", `{"name": "package.json"}`, "not a Trivy report"},
		{"schema 1", `{"SchemaVersion": 1, "Results": []}`, "SchemaVersion 1"},
		{"results not array", `{"SchemaVersion": 2, "Results": 3}`, "Results must be an array"},
		{"vulnerability not object", `{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [1]}]}`, "must be an object"},
		{"slsa statement", statement("https://slsa.dev/provenance/v0.2"), `predicate type "https://slsa.dev/provenance/v0.2"`},
		{"empty vuln predicate", `{"predicateType":"` + PredicateType + `","predicate":{"scanner":{"result":null}}}`, "holds no Trivy report"},
		{"dsse of slsa", dsse(statement("https://slsa.dev/provenance/v0.2")), "predicate type"},
		{"dsse other payload type", `{"payloadType":"text/plain","payload":"aGk="}`, `payload type "text/plain"`},
		{"dsse bad base64", `{"payloadType":"application/vnd.in-toto+json","payload":"!!"}`, "not valid base64"},
		{"two values", `{"SchemaVersion": 2, "Results": null} {}`, "more than one value"},
		{"too large", strings.Repeat(" ", 100) + "{}", "larger than the 50-byte limit"},
		{"sarif of another tool", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL"}},"results":[]}]}`, "a SARIF log of CodeQL, not of Trivy"},
		{"sarif results not array", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy"}},"results":{}}]}`, "runs[].results must be an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{}
			if tt.name == "too large" {
				opts.MaxBytes = 50
			}
			_, err := Parse("report.json", []byte(tt.data), opts)
			perr, ok := errors.AsType[*document.ParseError](err)
			if !ok {
				t.Fatalf("got %v, want a ParseError", err)
			}
			if !strings.Contains(perr.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", perr.Error(), tt.want)
			}
		})
	}
}

// TestTruncatedPointsAtTheEnd: a truncated report's error is at its last
// line.
func TestTruncatedPointsAtTheEnd(t *testing.T) {
	data := []byte("{\n  \"SchemaVersion\": 2,\n  \"Results\": [\n    {")
	_, err := Parse("r.json", data, Options{})
	perr, ok := errors.AsType[*document.ParseError](err)
	if !ok || perr.Location.Line != 4 {
		t.Fatalf("got %v, want a ParseError on line 4", err)
	}
}

func TestSniff(t *testing.T) {
	full, err := os.ReadFile("testdata/alpine.json")
	if err != nil {
		t.Fatal(err)
	}
	sarif, err := os.ReadFile("testdata/trivy.sarif")
	if err != nil {
		t.Fatal(err)
	}
	stmt := `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"` + PredicateType + `","predicate":{}}`
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"report", string(full), true},
		{"trivy sarif", string(sarif), true},
		{"codeql sarif", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL"}}}]}`, false},
		{"dwf-policy sarif", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"dwf-policy","rules":[{"id":"DWF401","name":"Trivy"}]}}}]}`, false},
		{"statement", stmt, true},
		{"dsse", `{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString([]byte(stmt)) + `"}`, true},
		{"dsse of other", `{"payloadType":"application/vnd.in-toto+json","payload":"` + base64.StdEncoding.EncodeToString([]byte(`{"predicateType":"x"}`)) + `"}`, false},
		{"package.json", `{"name":"x","version":"1.0.0","scripts":{}}`, false},
		{"tsconfig", `{"compilerOptions":{"strict":true}}`, false},
		{"schema without results", `{"SchemaVersion": 2}`, false},
		{"array", `[{"SchemaVersion": 2, "Results": []}]`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		if got := Sniff([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: Sniff = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPositionsAreTheObjects: each vulnerability's location spans its
// object, from its opening brace to its closing one.
func TestPositionsAreTheObjects(t *testing.T) {
	for _, file := range []string{"testdata/alpine.json", "testdata/trivy.sarif"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := Parse("r.json", data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		vulns := doc.Input["vulnerabilities"].(Vulnerabilities)
		if len(vulns) == 0 {
			t.Fatalf("%s: no vulnerabilities", file)
		}
		for _, v := range vulns {
			loc := v.Location
			if c := []rune(lines[loc.Line-1])[loc.Column-1]; c != '{' {
				t.Errorf("%s: %v starts at %q, not {", file, loc, c)
			}
			if c := []rune(lines[loc.EndLine-1])[loc.EndColumn-1]; c != '}' {
				t.Errorf("%s: %v ends at %q, not }", file, loc, c)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range []string{"testdata/alpine.json", "testdata/trivy.sarif"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("f.json", data, Options{})
		if err == nil && doc == nil {
			t.Fatal("no document and no error")
		}
		if err != nil {
			if _, ok := errors.AsType[*document.ParseError](err); !ok {
				t.Fatalf("not a ParseError: %v", err)
			}
		}
		Sniff(data)
	})
}

// TestCVSSScore: a vulnerability's score is the NVD's, else Red Hat's,
// else GHSA's (V3, else V2), else the highest V3 score of any other
// source; a source given twice counts as its last entry.
func TestCVSSScore(t *testing.T) {
	for _, tc := range []struct {
		name, cvss string
		want       Score
		vector     string
	}{
		{"none", `{}`, Score{}, ""},
		{"nvd first", `{"ghsa": {"V3Score": 9.1}, "redhat": {"V3Score": 8.1, "V3Vector": "R"}, "nvd": {"V3Score": 7.5, "V3Vector": "N"}}`, Score{7.5, true}, "N"},
		{"redhat before ghsa", `{"ghsa": {"V3Score": 9.1, "V3Vector": "G"}, "redhat": {"V3Score": 8.1, "V3Vector": "R"}}`, Score{8.1, true}, "R"},
		{"v2 when no v3", `{"nvd": {"V2Score": 5.0}}`, Score{5.0, true}, ""},
		{"zero nvd skipped", `{"nvd": {"V3Score": 0}, "ghsa": {"V3Score": 6.5, "V3Vector": "G"}}`, Score{6.5, true}, "G"},
		{"other sources: highest", `{"a": {"V3Score": 4.0, "V3Vector": "A"}, "b": {"V3Score": 6.0, "V3Vector": "B"}, "c": {"V3Score": 5.0}}`, Score{6.0, true}, "B"},
		{"last entry of a source", `{"nvd": {"V3Score": 9.8, "V3Vector": "old"}, "nvd": {"V3Score": 4.3, "V3Vector": "new"}}`, Score{4.3, true}, "new"},
		{"last entry of another source", `{"a": {"V3Score": 9.8}, "a": {"V3Score": 4.3, "V3Vector": "A"}}`, Score{4.3, true}, "A"},
		{"not objects", `{"nvd": 7, "x": {"V3Score": 3.1}}`, Score{3.1, true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := `{"SchemaVersion": 2, "ArtifactName": "a", "Results": [{"Target": "t", "Vulnerabilities": [
				{"VulnerabilityID": "CVE-1", "PkgName": "p", "InstalledVersion": "1", "Severity": "HIGH", "CVSS": ` + tc.cvss + `}]}]}`
			doc, err := Parse("report.json", []byte(data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := doc.Input["vulnerabilities"].(Vulnerabilities)[0]
			if v.CVSSScore != tc.want {
				t.Errorf("cvss_score = %v, want %v", v.CVSSScore, tc.want)
			}
			if v.CVSSVector != tc.vector {
				t.Errorf("cvss_vector = %q, want %q", v.CVSSVector, tc.vector)
			}
		})
	}
}

// TestRegoValueIsTheJSONValue: the Rego value the vulnerabilities build
// themselves is the one ast.InterfaceToValue makes of their JSON, element
// for element and in order, for the test reports and for one large enough
// to be built on every core.
func TestRegoValueIsTheJSONValue(t *testing.T) {
	reports := map[string][]byte{}
	for _, file := range []string{"testdata/alpine.json", "testdata/trivy.sarif", "testdata/cosign-predicate.json"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		reports[file] = data
	}
	var b strings.Builder
	b.WriteString(`{"SchemaVersion": 2, "ArtifactName": "a", "Results": [{"Target": "t", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [`)
	sev := []string{"CRITICAL", "high", "", "MEDIUM", "LOW", "weird"}
	for i := range parallelMin*2 + 3 {
		if i > 0 {
			b.WriteString(",\n")
		}
		cvss := `{}`
		if i%3 != 0 {
			cvss = fmt.Sprintf(`{"nvd": {"V3Score": %d.%d, "V3Vector": "V%d"}}`, i%10, i%7, i%4)
		}
		fmt.Fprintf(&b, `{"VulnerabilityID": "CVE-%d", "PkgName": "p%d", "PkgPath": "x/%d", "InstalledVersion": "1.%d", "FixedVersion": "%s", "Status": "fixed", "Severity": %q, "Title": "t \u00e9 %d", "CVSS": %s}`,
			i%1500, i%1500%40, i%3, i, strings.Repeat("2", i%2), sev[i%len(sev)], i, cvss)
	}
	b.WriteString("]}]}")
	reports["large"] = []byte(b.String())
	for name, data := range reports {
		doc, err := Parse("r.json", data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		vulns := doc.Input["vulnerabilities"].(Vulnerabilities)
		out, err := json.Marshal(vulns)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(out)))
		dec.UseNumber()
		var plain any
		if err := dec.Decode(&plain); err != nil {
			t.Fatal(err)
		}
		want, err := ast.InterfaceToValue(plain)
		if err != nil {
			t.Fatal(err)
		}
		got := vulns.RegoValue()
		if want.Compare(got) != 0 || want.Hash() != got.Hash() {
			t.Errorf("%s: the values differ:\nwant %v\ngot  %v", name, excerptValue(want), excerptValue(got))
		}
		if name == "large" && (len(vulns) < parallelMin || !slices.ContainsFunc(vulns, func(v Vulnerability) bool { return v.Duplicate })) {
			t.Errorf("the large report has %d vulnerabilities, no duplicate", len(vulns))
		}
	}
}

func excerptValue(v ast.Value) string {
	s := v.String()
	return s[:min(len(s), 600)]
}

// TestEscapedStrings: keys and values with escapes are decoded, those read
// as shared strings (keys, package names, severities) too, and the same
// text read twice gives the same value.
func TestEscapedStrings(t *testing.T) {
	data := `{"SchemaVersion": 2, "ArtifactName": "a", "Results": [{"Target": "t", "Vulnerabilities": [
		{"VulnerabilityID": "CVE-1", "Pkg\u004eame": "p\"q\\", "InstalledVersion": "1", "Severity": "H\u0049GH", "Status": "fixed"},
		{"VulnerabilityID": "CVE-2", "PkgName": "p\"q\\", "InstalledVersion": "1", "Severity": "HIGH", "Status": "fixed"}]}]}`
	doc, err := Parse("report.json", []byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Input["vulnerabilities"].(Vulnerabilities) {
		if v.PkgName != `p"q\` || v.Severity != "HIGH" || v.Status != "fixed" {
			t.Errorf("%s: package %q, severity %q, status %q", v.ID, v.PkgName, v.Severity, v.Status)
		}
	}
}
