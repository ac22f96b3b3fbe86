package engine

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
)

// TestDeterministic: a kind is deterministic unless one of its rules, or a
// library it refers to, calls a nondeterministic builtin; other kinds'
// calls do not count.
func TestDeterministic(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Options{Policies: builtins})
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[document.Kind]bool{
		document.KindKubernetes:  true,
		document.KindDockerfile:  true,
		document.KindTrivyReport: false, // time.now_ns: stale reports, expired ignores
	} {
		if got := e.Deterministic(kind); got != want {
			t.Errorf("built-in %s rules: Deterministic = %v, want %v", kind, got, want)
		}
	}
	for _, tc := range []struct {
		name string
		lib  string // a custom library the rule imports
		body string
		want bool
	}{
		{"pure", "", `deny contains {"msg": "x"} if count(input.stages) > 3`, true},
		{"time.now_ns in a term", "", `deny contains {"msg": "x"} if { t := time.now_ns(); t > 0 }`, false},
		{"rand.intn in an expression", "", `deny contains {"msg": "x"} if rand.intn("k", 10)`, false},
		{"uuid in a comprehension", "", `deny contains {"msg": "x"} if count([u | some s in input.stages; u := uuid.rfc4122(sprintf("%v", [s]))]) > 0`, false},
		{"time.now_ns in an imported library", "package dwf.lib.acme\n\nlate if time.now_ns() > 0\n", `deny contains {"msg": "x"} if data.dwf.lib.acme.late`, false},
		{"deterministic time builtins", "", `deny contains {"msg": "x"} if time.parse_rfc3339_ns("2026-01-01T00:00:00Z") > 0`, true},
	} {
		custom := fstest.MapFS{"r.rego": {Data: []byte(rule("dwf.dockerfile.custom_r", "ACME1", tc.body))}}
		if tc.lib != "" {
			custom["lib/acme.rego"] = &fstest.MapFile{Data: []byte(tc.lib)}
		}
		for _, deferred := range []bool{false, true} {
			e, err := New(ctx, Options{Policies: append(slices.Clone(builtins), PolicySource{Name: "custom", FS: custom}),
				Capabilities: ast.CapabilitiesForThisVersion(), Deferred: deferred})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := e.Deterministic(document.KindDockerfile); got != tc.want {
				t.Errorf("%s (deferred %v): Deterministic = %v, want %v", tc.name, deferred, got, tc.want)
			}
			if !e.Deterministic(document.KindKubernetes) {
				t.Errorf("%s: a dockerfile rule made the kubernetes rules nondeterministic", tc.name)
			}
		}
	}
}
