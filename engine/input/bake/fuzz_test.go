package bake

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
)

// FuzzParse: any bytes as a bake file give a document or a ParseError
// (a DWF000), never a panic or another kind of error, and every position
// in the document is inside the file. Seeds are the rule fixtures.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"DWF501", "DWF502", "DWF503", "DWF000"} {
		matches, _ := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "rules", dir, "*.hcl"))
		for _, m := range matches {
			if data, err := os.ReadFile(m); err == nil {
				f.Add(string(data), strings.HasSuffix(m, ".json"))
			}
		}
	}
	f.Add(`{"target": {"app": {"platforms": ["linux/amd64"]}}}`, true)
	f.Add("target \"a\" {\n  inherits = [\"a\"]\n}\n", false)
	f.Fuzz(func(t *testing.T, src string, json bool) {
		name := "docker-bake.hcl"
		if json {
			name = "docker-bake.json"
		}
		doc, err := Parse(name, []byte(src), Options{})
		if err != nil {
			var perr *document.ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v, want a *document.ParseError", err, err)
			}
			return
		}
		lines := strings.Count(src, "\n") + 1
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if loc, ok := x["location"]; ok {
					l := document.LocationOf(loc)
					if l.Line < 0 || l.Line > lines || l.EndLine > lines {
						t.Fatalf("location %v outside a %d-line file", l, lines)
					}
				}
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(doc.Input)
	})
}
