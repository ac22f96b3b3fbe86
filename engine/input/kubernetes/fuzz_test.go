package kubernetes

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
)

// FuzzParse: any input is a document or a ParseError, never a panic or
// another error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - {name: a, image: app, command: [tini, --]}\n",
		"apiVersion: v1\nkind: List\nitems: &x [*x]\n",
		`{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"image": "a"}]}}`,
		"---\n# Source: c/t.yaml\napiVersion: batch/v1\nkind: CronJob\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{image: a}]}}}}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse("f.yaml", data, Options{})
		if err != nil {
			if _, ok := errors.AsType[*document.ParseError](err); !ok {
				t.Fatalf("Parse returned %T %v, want a ParseError", err, err)
			}
			return
		}
		if doc == nil || doc.Input["kind"] != "kubernetes" {
			t.Fatalf("Parse returned %v", doc)
		}
	})
}

// FuzzParseJSON: the JSON reading of any JSON equals the YAML reading of
// the same JSON indented, wherever YAML can read it; elsewhere it is a
// document or a ParseError, never a panic.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"v1","kind":"Pod","spec":{"securityContext":{"runAsUser":1001},"containers":[{"name":"a","image":"app","command":["tini","--"]}]}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"日本"},"spec":{"template":{"spec":{"containers":[{"image":"a","securityContext":{"runAsNonRoot":false,"runAsUser":1e2}}]}}}}`,
		`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","spec":{"containers":[]}}]}`,
		`[{"apiVersion":"v1","kind":"Pod"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		got, err := ParseJSON("f", data, Options{})
		if err != nil {
			if _, ok := errors.AsType[*document.ParseError](err); !ok {
				t.Fatalf("ParseJSON returned %T %v, want a ParseError", err, err)
			}
		}
		want, wantErr := viaYAML(t, "f", data)
		if pe, ok := errors.AsType[*document.ParseError](wantErr); ok && strings.HasPrefix(pe.Message, "could not parse as YAML") {
			return // JSON that YAML cannot read (TestParseJSONReadsWhatYAMLCannot)
		}
		if diff := cmp.Diff(errString(wantErr), errString(err)); diff != "" {
			t.Fatalf("error (-yaml +json):\n%s", diff)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("document (-yaml +json):\n%s", diff)
		}
	})
}
