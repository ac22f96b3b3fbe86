package engine

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// TestDecodeDenyMatchesJSON: the findings decodeDeny reads from a deny's
// Rego value are those decodeFinding makes of each element of its JSON
// value (what OPA returned before), in the same order and with the same
// errors: objects OPA built, lazily converted input objects (whose JSON is
// the Go map they wrap, native numbers and all), strings, and values that
// are not findings.
func TestDecodeDenyMatchesJSON(t *testing.T) {
	lazyLoc := ast.NewTerm(ast.LazyObject(map[string]any{"line": 3, "column": 2.5, "end_line": int64(4), "end_column": "7"}))
	built := func(kvs ...[2]*ast.Term) *ast.Term { return ast.ObjectTerm(kvs...) }
	str, num := ast.StringTerm, func(s string) *ast.Term { return ast.NewTerm(ast.Number(s)) }
	full := built(
		ast.Item(str("msg"), str("full")), ast.Item(str("path"), str("other/Dockerfile")), ast.Item(str("subject"), str("img")),
		ast.Item(str("suppressed_by"), str("accepted")), ast.Item(str("fingerprint"), str("fp")),
		ast.Item(str("security_severity"), num("7.25")), ast.Item(str("severity"), str("warning")),
		ast.Item(str("location"), built(ast.Item(str("line"), num("12")), ast.Item(str("column"), num("3")), ast.Item(str("end_line"), num("12.5")), ast.Item(str("end_column"), str("9")))),
	)
	many := make([]*ast.Term, internMax+5)
	for i := range many {
		many[i] = built(ast.Item(str("msg"), str(fmt.Sprintf("finding %d", i))), ast.Item(str("location"), lazyLoc), ast.Item(str("security_severity"), str("9.0")))
	}
	for name, deny := range map[string]ast.Value{
		"set of built objects": ast.NewSet(full, built(ast.Item(str("msg"), str("b")), ast.Item(str("location"), lazyLoc)), str("plain string")),
		"many":                 ast.NewSet(many...),
		"lazy objects":         ast.NewSet(ast.NewTerm(ast.LazyObject(map[string]any{"msg": "lazy", "security_severity": 7.5, "location": map[string]any{"line": 2.9}}))),
		"no msg":               ast.NewSet(built(ast.Item(str("msg"), num("1")))),
		"not a finding":        ast.NewSet(num("3")),
		"object with non-string keys": ast.NewSet(built(ast.Item(num("1"), str("x")), ast.Item(str("msg"), str("m")),
			ast.Item(ast.ArrayTerm(str("msg")), str("not the msg")))),
		"array":  ast.NewArray(full),
		"object": ast.NewObject(ast.Item(str("z"), full), ast.Item(str("a"), num("1"))),
		"empty":  ast.NewSet(),
		"scalar": ast.String("x"),
	} {
		t.Run(name, func(t *testing.T) {
			rule := &finding.Rule{ID: "ACME1", Severity: finding.SeverityError}
			doc := &document.Document{Path: "Dockerfile", Subject: "subject"}
			typ := ast.ValueName(deny)
			plain, err := ast.JSON(deny)
			if err != nil {
				t.Fatal(err)
			}
			var want []finding.Finding
			var wantErr error
			for _, v := range denied(typ, plain) {
				f, err := decodeFinding(v, rule, doc, true)
				if err != nil {
					wantErr = err
					break
				}
				want = append(want, f)
			}
			got, err := decodeDeny(nil, typ, deny, rule, doc)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, want %v", err, wantErr)
			}
			if wantErr == nil {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("findings (-want +got):\n%s", diff)
				}
			}
		})
	}
}
