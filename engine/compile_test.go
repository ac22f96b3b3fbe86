package engine

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/dockerfile"
	"github.com/devflow/dwf-policy/engine/input/kubernetes"
	"github.com/devflow/dwf-policy/internal/corpus"
	"github.com/devflow/dwf-policy/policies"
)

var builtins = []PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}}

// TestSkippedStagesChangeNoFinding: the built-ins compiled without the
// check-only stages find exactly what they find compiled with every stage,
// over Dockerfiles and Kubernetes manifests of the benchmark corpora.
func TestSkippedStagesChangeNoFinding(t *testing.T) {
	ctx := context.Background()
	skipping, err := New(ctx, Options{Policies: builtins})
	if err != nil {
		t.Fatal(err)
	}
	full, err := New(ctx, Options{Policies: builtins})
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]*ast.Module{}
	for _, f := range full.files {
		modules[f.name] = f.module
	}
	c := newBaseCompiler(nil)
	if c.Compile(modules); c.Failed() {
		t.Fatal(c.Errors)
	}
	prepared := map[document.Kind]*kindQuery{}
	for kind := range full.kinds {
		if prepared[kind], err = full.prepareQuery(ctx, c, kind); err != nil {
			t.Fatal(err)
		}
	}
	full.prepared.Store(&prepared)

	var docs []*document.Document
	for i := range 60 {
		d, err := dockerfile.Parse("Dockerfile", []byte(corpus.Dockerfile(i)), dockerfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
		name, content := corpus.Manifest(i)
		if kubernetes.Sniff([]byte(content)) {
			if d, err = kubernetes.Parse(name, []byte(content), kubernetes.Options{}); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, d)
		}
	}
	want, err := full.Evaluate(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := skipping.Evaluate(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, f := range want {
		kinds[f.RuleID[:4]] = true
	}
	if len(want) == 0 || !kinds["DWF1"] || !kinds["DWF6"] {
		t.Fatalf("the corpora gave no Dockerfile or Kubernetes findings: %v", want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings differ (-every stage +skipping):\n%s", diff)
	}
	// A check's engine compiles the modules of policies/modules.bin.
	deferred, err := New(ctx, Options{Policies: builtins, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err = deferred.Evaluate(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings differ (-every stage +precompiled):\n%s", diff)
	}
	for _, f := range deferred.files {
		if strings.HasPrefix(f.name, "policies/dockerfile/") && f.compiled == nil {
			t.Errorf("%s was not decoded from %s", f.name, ModulesFile)
		}
	}
}

// localVars matches the variables the compiler generates, whose numbers
// depend on what else was compiled (and so does the order of a set of
// them, as printed).
var localVars = regexp.MustCompile(`__local\d+__`)

// unnumbered is s with the generated variables' numbers left out.
func unnumbered(s string) string { return localVars.ReplaceAllString(s, "__local__") }

// TestPrecompiledCompilesTheSame: for each kind, and for every kind at
// once, the modules of policies/modules.bin compiled with
// precompiledStages give what parsing and compiling their Rego gives: the
// same modules (but for the numbers of generated variables), the same
// rule tree and the same comprehension indices. TestSkippedStagesChange-
// NoFinding compares what they find.
func TestPrecompiledCompilesTheSame(t *testing.T) {
	files, err := readPolicyFiles(builtins, false, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		if p := f.header.path; len(p) > 2 && p[0] == "dwf" && p[1] != "lib" {
			kinds[p[1]] = true
		}
	}
	sets := [][]string{slices.Sorted(maps.Keys(kinds))}
	for k := range kinds {
		sets = append(sets, []string{k})
	}
	for _, set := range sets {
		t.Run(strings.Join(set, "+"), func(t *testing.T) {
			cl, precompiled, err := closure(files, set, false)
			if err != nil || !precompiled {
				t.Fatalf("precompiled %v, %v", precompiled, err)
			}
			parsed, decoded := map[string]*ast.Module{}, map[string]*ast.Module{}
			for _, f := range cl {
				if parsed[f.name], err = parseModule(f.name, f.raw, false); err != nil {
					t.Fatal(err)
				}
				decoded[f.name] = f.compiled
			}
			want, err := compile(parsed, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := compilePrecompiled(decoded, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want.Modules {
				g := got.Modules[name]
				if g == nil {
					t.Fatalf("%s not compiled", name)
				}
				if diff := cmp.Diff(unnumbered(w.String()), unnumbered(g.String())); diff != "" {
					t.Errorf("%s compiles differently (-from Rego +precompiled):\n%s", name, diff)
				}
				if wi, gi := comprehensionIndices(want, w), comprehensionIndices(got, g); wi != gi {
					t.Errorf("%s: %d comprehension indices, want %d", name, gi, wi)
				}
			}
			if w, g := ruleTree(want.RuleTree), ruleTree(got.RuleTree); !slices.Equal(w, g) {
				t.Errorf("rule trees differ:\n%s", cmp.Diff(w, g))
			}
		})
	}
}

// comprehensionIndices counts the comprehensions of m that c indexed.
func comprehensionIndices(c *ast.Compiler, m *ast.Module) int {
	n := 0
	ast.WalkTerms(m, func(x *ast.Term) bool {
		switch x.Value.(type) {
		case *ast.ArrayComprehension, *ast.SetComprehension, *ast.ObjectComprehension:
			if c.ComprehensionIndex(x) != nil {
				n++
			}
		}
		return false
	})
	return n
}

// ruleTree lists the nodes of a rule tree with their number of rules.
func ruleTree(n *ast.TreeNode) []string {
	var out []string
	n.DepthFirst(func(x *ast.TreeNode) bool {
		out = append(out, fmt.Sprintf("%v %d", x.Key, len(x.Values)))
		return false
	})
	return out
}

// TestSkippedStagesRewriteNothing: every built-in module comes out of the
// compile the same with or without the stages skipped for the built-ins,
// so a built-in that starts to call print or rego.metadata (whose calls
// those stages rewrite), or whose body reads a variable before the
// expression that binds it (which CheckSafetyRuleBodies would reorder),
// fails here rather than evaluating differently: write the body in order.
func TestSkippedStagesRewriteNothing(t *testing.T) {
	files, err := readPolicyFiles(builtins, false, true)
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]*ast.Module{}
	for _, f := range files {
		modules[f.name] = f.module
	}
	full := newBaseCompiler(nil)
	if full.Compile(modules); full.Failed() {
		t.Fatal(full.Errors)
	}
	skipping := newBaseCompiler(nil).WithSkipStages(builtinCheckStages...)
	if skipping.Compile(modules); skipping.Failed() {
		t.Fatal(skipping.Errors)
	}
	if len(full.Modules) != len(files) || len(skipping.Modules) != len(files) {
		t.Fatalf("compiled %d and %d modules of %d", len(full.Modules), len(skipping.Modules), len(files))
	}
	for name, want := range full.Modules {
		if got := skipping.Modules[name]; got == nil || !got.Equal(want) || got.String() != want.String() {
			t.Errorf("%s compiles differently without the skipped stages:\n%s", name, cmp.Diff(want.String(), got.String()))
		}
	}
}

// TestDeferredCompilesOnlyWhatIsNeeded: a deferred engine compiles the
// kinds asked for and the library packages they import, nothing else,
// and a kind first met during evaluation is compiled then.
func TestDeferredCompilesOnlyWhatIsNeeded(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Options{Policies: builtins, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Prepare(ctx, document.KindDockerfile); err != nil {
		t.Fatal(err)
	}
	compiled := func() []string {
		var out []string
		for _, q := range *e.prepared.Load() {
			for name := range q.compiler.Modules {
				if !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	want := []string{
		"policies/dockerfile/cache_mounts.rego",
		"policies/dockerfile/non_root_user.rego",
		"policies/dockerfile/pinned_base_image.rego",
		"policies/dockerfile/tini_entrypoint.rego",
		"policies/dockerfile/uid_1001.rego",
		"policies/lib/dockerfile.rego",
	}
	if diff := cmp.Diff(want, compiled()); diff != "" {
		t.Errorf("compiled for dockerfile (-want +got):\n%s", diff)
	}
	// Kubernetes rules import data.dwf.lib.kubernetes, which imports
	// data.dwf.lib.image: the closure follows both.
	name, content := corpus.Manifest(0)
	doc, err := kubernetes.Parse(name, []byte(content), kubernetes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.EvaluateOne(ctx, doc); err != nil {
		t.Fatal(err)
	}
	got := compiled()
	for _, f := range []string{"policies/kubernetes/runtime_tini.rego", "policies/lib/kubernetes.rego", "policies/lib/image.rego"} {
		if !slices.Contains(got, f) {
			t.Errorf("%s not compiled for kubernetes: %v", f, got)
		}
	}
	for _, f := range got {
		if slices.Contains([]string{"workflow", "bake", "trivy_report", "repository"}, kindOfFile(f)) {
			t.Errorf("%s compiled, no document of its kind was evaluated", f)
		}
	}
}

func kindOfFile(name string) string { return strings.Split(name, "/")[1] }

// TestDeferredFollowsCustomImports: a custom rule is compiled with the
// custom library it imports and the built-in library that one imports;
// a custom library nobody needed is not compiled, so its error does not
// stop a check that does not need it (compiling everything reports it).
func TestDeferredFollowsCustomImports(t *testing.T) {
	ctx := context.Background()
	custom := fstest.MapFS{
		"r.rego": {Data: []byte(rule("dwf.dockerfile.custom_r", "ACME1", `import data.dwf.lib.acme

deny contains {"msg": "bad"} if acme.bad`))},
		"lib/acme.rego":   {Data: []byte("package dwf.lib.acme\n\nimport data.dwf.lib.dockerfile as lib\n\nbad if lib.config_user == \"nobody\"\n")},
		"lib/unused.rego": {Data: []byte("package dwf.lib.unused\n\nx := no_such_function(1)\n")},
	}
	sources := append(slices.Clone(builtins), PolicySource{Name: "custom", FS: custom})
	if _, err := New(ctx, Options{Policies: sources}); err == nil || !strings.Contains(err.Error(), "no_such_function") {
		t.Fatalf("compiling everything: %v, want the unused library's error", err)
	}
	e, err := New(ctx, Options{Policies: sources, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Prepare(ctx, document.KindDockerfile); err != nil {
		t.Fatal(err)
	}
	q := (*e.prepared.Load())[document.KindDockerfile]
	for _, f := range []string{"custom/r.rego", "custom/lib/acme.rego", "policies/lib/dockerfile.rego", "policies/dockerfile/uid_1001.rego"} {
		if _, ok := q.compiler.Modules[f]; !ok {
			t.Errorf("%s not compiled", f)
		}
	}
	if _, ok := q.compiler.Modules["custom/lib/unused.rego"]; ok {
		t.Error("custom/lib/unused.rego compiled, no rule refers to it")
	}
	err = e.Prepare(ctx, document.KindWorkflow, document.KindDockerfile)
	if err != nil {
		t.Fatalf("workflow rules: %v", err)
	}
}

// TestDeferredCompileCancelled: a compile cut short because its caller
// stopped waiting (a review past its deadline, a run interrupted) is not
// remembered as the kind's failure: the next caller compiles it.
func TestDeferredCompileCancelled(t *testing.T) {
	e, err := New(context.Background(), Options{Policies: builtins, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cerr := e.Prepare(cancelled, document.KindKubernetes)
	if err := e.Prepare(context.Background(), document.KindKubernetes); err != nil {
		t.Fatalf("after a cancelled compile (which gave %v): %v", cerr, err)
	}
	if _, err := e.query(context.Background(), document.KindKubernetes); err != nil {
		t.Errorf("query after a cancelled compile: %v", err)
	}
}
