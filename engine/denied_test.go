package engine

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/rego"
)

// TestDeniedMatchesEnumeration: what denied returns from a whole deny is
// what the former query, `deny[f]`, bound f to, in the same order, for
// every type a deny can have.
func TestDeniedMatchesEnumeration(t *testing.T) {
	for _, deny := range []string{
		`{{"msg": "b"}, {"msg": "a", "location": {"line": 3}}, "c"}`,
		`set()`,
		`[{"msg": "a"}, {"msg": "b"}]`,
		`[]`,
		`{"z": {"msg": "a"}, "a": 1}`,
		`{}`,
		`input.scalar`, // a string: the type checker refuses x[f] on a literal one
	} {
		t.Run(deny, func(t *testing.T) {
			ctx := context.Background()
			in := rego.Input(map[string]any{"scalar": "a string"})
			old, err := rego.New(rego.Query("x := "+deny+"; x[f]"), in).Eval(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var want []any
			for _, r := range old {
				want = append(want, r.Bindings["f"])
			}
			rs, err := rego.New(rego.Query("deny := "+deny+"; type := type_name(deny)"), in).Eval(ctx)
			if err != nil || len(rs) != 1 {
				t.Fatal(rs, err)
			}
			typ, _ := rs[0].Bindings["type"].(string)
			got := denied(typ, rs[0].Bindings["deny"])
			if len(got) == 0 && len(want) == 0 {
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("denied differs from deny[f] (-want +got):\n%s", diff)
			}
		})
	}
}
