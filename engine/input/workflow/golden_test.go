package workflow

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/workflows/realistic")

// TestGoldenDocument pins the whole document of a realistic workflow, so
// any change to what policies see is reviewed in the golden diff.
func TestGoldenDocument(t *testing.T) {
	dir := goldenDir
	src, err := os.ReadFile(filepath.Join(dir, "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(".github/workflows/ci.yml", src, Options{ReadFile: readFileIn(filepath.Join(rootsDir, "repo"))})
	if err != nil {
		t.Fatal(err)
	}
	matchSchema(t, "workflow", doc.Input)
	got, err := json.MarshalIndent(doc.Input, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(dir, "ci.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want, have any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("document differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
	var ids []string
	for _, f := range evaluate(t, "workflow", doc.Input) {
		ids = append(ids, f.String())
	}
	if diff := cmp.Diff([]string{
		"DWF202 96:18", // release: permissions: write-all
		"DWF203 79:28", // the report scan's continue-on-error: true
		"DWF204 70:9",  // setup-trivy without cache
		"DWF205 45:15",
		"DWF205 67:15",
		"DWF205 70:15",
		"DWF205 78:15",
		"DWF205 84:15",
	}, ids); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(goldenDir, "ci.yml"))
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{ReadFile: readFileIn(filepath.Join(rootsDir, "repo"))}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(".github/workflows/ci.yml", src, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParse feeds arbitrary bytes to the parser: it must return a document
// or a *document.ParseError, never panic, and its documents must convert to
// Rego values with valid locations.
func FuzzParse(f *testing.F) {
	for _, src := range fixtureSources(f) {
		f.Add(src)
	}
	read := func(string) ([]byte, error) {
		return []byte("exit-code: 1\nseverity: [HIGH]\nscan: {scanners: vuln}\n"), nil
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := Parse("ci.yml", src, Options{MaxBytes: 1 << 16, ReadFile: read})
		if err != nil {
			var pe *document.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %T %v, want *document.ParseError", err, err)
			}
			return
		}
		if _, err := ast.InterfaceToValue(doc.Input); err != nil {
			t.Fatalf("document is not a Rego value: %v", err)
		}
		walkLocations(doc.Input, func(path string, l document.Location) {
			if l.Line < 1 || l.Column < 1 || l.EndLine < l.Line || (l.EndLine == l.Line && l.EndColumn < l.Column) {
				t.Fatalf("%s: invalid location %+v", path, l)
			}
		})
	})
}
