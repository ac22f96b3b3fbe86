package workflow

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"sync"
	"testing"

	"github.com/devflow/dwf-policy/engine"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/policies"
)

// The rule tests evaluate the real built-in policies the way the engine
// does: every non-test module of policies.FS, Rego v1, METADATA processed,
// inputs type-checked against engine/document/schemas, data.dwf.config set
// to the defaults.

var (
	compileOnce sync.Once
	compiled    *ast.Compiler
	compileErr  error
)

func policyCompiler(t testing.TB) *ast.Compiler {
	t.Helper()
	compileOnce.Do(func() {
		// Compiled exactly as the engine compiles custom policies: schemas
		// type-checked, the sandbox's capabilities.
		modules, err := engine.LoadModules([]engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}})
		if err != nil {
			compileErr = err
			return
		}
		c, err := engine.NewCompiler(nil)
		if err != nil {
			compileErr = err
			return
		}
		if c.Compile(modules); c.Failed() {
			compileErr = c.Errors
			return
		}
		compiled = c
	})
	if compileErr != nil {
		t.Fatalf("compiling policies: %v", compileErr)
	}
	return compiled
}

var (
	queryMu sync.Mutex
	queries = map[string]rego.PreparedEvalQuery{}
)

func prepared(t testing.TB, query string) rego.PreparedEvalQuery {
	t.Helper()
	queryMu.Lock()
	defer queryMu.Unlock()
	if pq, ok := queries[query]; ok {
		return pq
	}
	pq, err := rego.New(rego.Query(query), rego.Compiler(policyCompiler(t)), rego.Store(engine.NewStore(nil))).PrepareForEval(context.Background())
	if err != nil {
		t.Fatalf("preparing %s: %v", query, err)
	}
	queries[query] = pq
	return pq
}

// finding is one rule result as tests compare it.
type finding struct {
	ID   string
	Path string
	Line int
	Col  int
	Msg  string
	Loc  document.Location
}

func (f finding) String() string { return fmt.Sprintf("%s %d:%d", f.ID, f.Line, f.Col) }

var ruleIDs = map[string]string{
	"top_level_permissions": "DWF201",
	"job_write_all":         "DWF202",
	"trivy_gate":            "DWF203",
	"trivy_cache":           "DWF204",
	"pinned_actions":        "DWF205",
	"nightly_image_scan":    "DWF206",
}

// evaluate runs the rules of kind ("workflow" or "repository") over input.
func evaluate(t testing.TB, kind string, input map[string]any) []finding {
	t.Helper()
	pq := prepared(t, fmt.Sprintf("data.dwf.%s[pkg].deny[f]", kind))
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pq.Eval(context.Background(), rego.EvalParsedInput(v))
	if err != nil {
		t.Fatalf("evaluating: %v", err)
	}
	var out []finding
	for _, r := range rs {
		pkg, _ := r.Bindings["pkg"].(string)
		f, _ := r.Bindings["f"].(map[string]any)
		id, ok := ruleIDs[pkg]
		if !ok {
			t.Fatalf("unexpected package %s", pkg)
		}
		loc, _ := f["location"].(map[string]any)
		fd := finding{ID: id, Msg: fmt.Sprint(f["msg"]), Loc: document.Location{
			Line: num(loc["line"]), Column: num(loc["column"]), EndLine: num(loc["end_line"]), EndColumn: num(loc["end_column"]),
		}}
		fd.Line, fd.Col = fd.Loc.Line, fd.Loc.Column
		if p, ok := f["path"].(string); ok {
			fd.Path = p
		}
		out = append(out, fd)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

func num(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

// matchSchema validates a document against its kind's JSON schema.
func matchSchema(t testing.TB, kind string, doc map[string]any) {
	t.Helper()
	schemas, err := document.Schemas()
	if err != nil {
		t.Fatal(err)
	}
	// The validator runs outside the policies' sandbox, which refuses
	// json.match_schema (its $refs can read host files).
	pq, err := rego.New(rego.Query(`r := json.match_schema(input.doc, input.schema)`)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, err := ast.InterfaceToValue(map[string]any{"doc": doc, "schema": schemas[kind]})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pq.Eval(context.Background(), rego.EvalParsedInput(v))
	if err != nil || len(rs) != 1 {
		t.Fatalf("matching schema: %v (%d results)", err, len(rs))
	}
	r, _ := rs[0].Bindings["r"].([]any)
	if ok, _ := r[0].(bool); !ok {
		t.Errorf("document does not match the %s schema: %v", kind, r[1])
	}
}

// TestRegoFixtureSamples checks the documents the Rego unit tests build
// (policies/workflow/fixtures_test.rego) against the schemas: `with input
// as` is not type-checked, so this keeps those builders honest.
func TestRegoFixtureSamples(t *testing.T) {
	raw, err := fs.ReadFile(policies.FS, "workflow/fixtures_test.rego")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ast.ParseModuleWithOpts("fixtures_test.rego", string(raw), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(map[string]*ast.Module{"fixtures_test.rego": m}); c.Failed() {
		t.Fatal(c.Errors)
	}
	for kind, ref := range map[string]string{"workflow": "samples", "repository": "repository_samples"} {
		rs, err := rego.New(rego.Query("x := data.dwf.workflow.fixtures_test."+ref), rego.Compiler(c)).Eval(context.Background())
		if err != nil || len(rs) != 1 {
			t.Fatalf("evaluating %s: %v", ref, err)
		}
		samples, _ := rs[0].Bindings["x"].([]any)
		if len(samples) == 0 {
			t.Fatalf("%s is empty", ref)
		}
		for i, s := range samples {
			doc, ok := s.(map[string]any)
			if !ok {
				t.Fatalf("%s[%d] is %T", ref, i, s)
			}
			t.Run(fmt.Sprintf("%s/%d", ref, i), func(t *testing.T) { matchSchema(t, kind, doc) })
		}
	}
}
