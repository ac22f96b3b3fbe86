package kubernetes

import (
	"errors"
	"testing"

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
