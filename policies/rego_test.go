package policies_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/policies"
)

// schemaDir holds the JSON schema of every input kind; the engine embeds
// the same files and keys them by base name (schema.dockerfile).
const schemaDir = "../engine/document/schemas"

// TestRego compiles every module of policies.FS, tests included, the way the
// engine does (Rego v1, METADATA processed, input schemas type-checked) and
// runs every Rego test, reporting each failing one as a Go test failure.
func TestRego(t *testing.T) {
	ctx := context.Background()
	modules := loadModules(t)
	compiler := newCompiler(t).WithEnablePrintStatements(true)
	store := newStore()
	txn, err := store.NewTransaction(ctx, storage.TransactionParams{})
	if err != nil {
		t.Fatalf("opening store transaction: %v", err)
	}
	defer store.Abort(ctx, txn)

	ch, err := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(store).
		SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true).
		RunTests(ctx, txn)
	if err != nil {
		t.Fatalf("compiling policies and tests: %v", err)
	}

	ran := 0
	for r := range ch {
		if r.Skip {
			t.Logf("skipped %s.%s (%s)", r.Package, r.Name, r.Location)
			continue
		}
		ran++
		switch {
		case r.Error != nil:
			t.Errorf("%s.%s (%s): error: %v%s", r.Package, r.Name, r.Location, r.Error, output(r))
		case r.Fail:
			t.Errorf("%s.%s (%s): failed%s", r.Package, r.Name, r.Location, output(r))
		}
	}
	if ran == 0 {
		t.Fatal("no Rego tests ran: expected test_* rules in the *_test.rego files of policies.FS")
	}
	t.Logf("%d Rego tests ran", ran)
}

// TestFixturesMatchSchema checks the documents the Rego fixtures build
// against the JSON schema: Rego tests feed documents with `with input as`,
// which the type checker does not see, so this keeps the fixtures honest.
func TestFixturesMatchSchema(t *testing.T) {
	ctx := context.Background()
	compiler := newCompiler(t)
	if compiler.Compile(loadModules(t)); compiler.Failed() {
		t.Fatalf("compiling policies: %v", compiler.Errors)
	}
	file := filepath.Join(schemaDir, "dockerfile.json")
	schema := readSchema(t, file)
	rs, err := rego.New(
		rego.Query(`results := [[i, json.match_schema(doc, input)] | some i, doc in data.dwf.lib.fixtures.samples]`),
		rego.Compiler(compiler),
		rego.Store(newStore()),
		rego.Input(schema),
	).Eval(ctx)
	if err != nil {
		t.Fatalf("evaluating fixtures: %v", err)
	}
	if len(rs) != 1 {
		t.Fatalf("got %d results, want 1", len(rs))
	}
	results, _ := rs[0].Bindings["results"].([]any)
	if len(results) == 0 {
		t.Fatal("data.dwf.lib.fixtures.samples is empty")
	}
	for _, r := range results {
		pair := r.([]any)
		match := pair[1].([]any)
		if ok, _ := match[0].(bool); !ok {
			t.Errorf("fixture sample %v does not match %s: %v", pair[0], file, match[1])
		}
	}
}

// TestSchemaCatchesMisspeltField checks that the schema set is wired so a
// misspelt input field fails compilation instead of never matching.
func TestSchemaCatchesMisspeltField(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`deny contains 1 if input.stages[_].from.tag == ""`, true},
		{`deny contains 1 if input.stages[_].from.tagg == ""`, false},
		{`deny contains 1 if input.final.usr == null`, false},
		{`deny contains 1 if input.stages[_].runs[_].mounts[_].typ == "cache"`, false},
	} {
		src := "# METADATA\n# schemas:\n#   - input: schema.dockerfile\npackage dwf.dockerfile.probe\n\n" + tc.body + "\n"
		m, err := ast.ParseModuleWithOpts("probe.rego", src, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("parsing %q: %v", tc.body, err)
		}
		c := newCompiler(t)
		c.Compile(map[string]*ast.Module{"probe.rego": m})
		if c.Failed() == tc.ok {
			t.Errorf("compiling %q: failed = %v, want %v (errors: %v)", tc.body, c.Failed(), !tc.ok, c.Errors)
		}
	}
}

// TestBuiltinCatalogue pins the rule IDs, packages and severities of issue 2
// (a contract with users' suppressions and CI) and checks that every rule
// package describes itself the way the engine and the docs expect: file
// <kind>/<rule_name>.rego, title, description, custom id/severity/kind, help
// with a fenced example, and the input schema of its kind when there is one.
func TestBuiltinCatalogue(t *testing.T) {
	want := map[string]struct{ id, severity string }{
		"dwf.dockerfile.non_root_user":     {"DWF101", "error"},
		"dwf.dockerfile.uid_1001":          {"DWF102", "error"},
		"dwf.dockerfile.tini_entrypoint":   {"DWF103", "error"},
		"dwf.dockerfile.cache_mounts":      {"DWF104", "warning"},
		"dwf.dockerfile.pinned_base_image": {"DWF105", "warning"},
		"dwf.input.parse_error":            {"DWF000", "error"},
		"dwf.engine.expired_exception":     {"DWF001", "warning"},
		"dwf.engine.unused_suppression":    {"DWF002", "note"},
	}
	seen := map[string]bool{}
	for file, m := range loadModules(t) {
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		if strings.HasSuffix(file, "_test.rego") || strings.HasPrefix(pkg, "dwf.lib.") {
			continue
		}
		seen[pkg] = true
		segs := strings.Split(pkg, ".")
		if wantFile := segs[1] + "/" + segs[2] + ".rego"; file != wantFile {
			t.Errorf("%s: package %s belongs in %s", file, pkg, wantFile)
		}
		var ann *ast.Annotations
		for _, a := range m.Annotations {
			if a.Scope == "package" {
				ann = a
			}
		}
		if ann == nil {
			t.Errorf("%s: no package METADATA", file)
			continue
		}
		str := func(k string) string { s, _ := ann.Custom[k].(string); return s }
		// Rules the engine reports itself (no deny, custom.name set, like
		// DWF001 config/expired-exception) live under dwf.engine and name
		// their own kind, as the engine allows.
		engineRule := segs[1] == "engine" && str("name") != ""
		if str("id") == "" || str("severity") == "" || (strings.ReplaceAll(str("kind"), "-", "_") != segs[1] && !engineRule) {
			t.Errorf("%s: METADATA needs custom.id, custom.severity and custom.kind %q", file, segs[1])
		}
		if w, ok := want[pkg]; ok && (str("id") != w.id || str("severity") != w.severity) {
			t.Errorf("%s: custom id/severity = %s/%s, want %s/%s", file, str("id"), str("severity"), w.id, w.severity)
		}
		if strings.TrimSpace(ann.Title) == "" || strings.TrimSpace(ann.Description) == "" {
			t.Errorf("%s: METADATA needs a title and a description", file)
		}
		if !strings.Contains(str("help"), "```") {
			t.Errorf("%s: custom.help must show the fix in a fenced example", file)
		}
		hasSchema := false
		for _, s := range ann.Schemas {
			hasSchema = hasSchema || (s.Path.String() == "input" && s.Schema.String() == "schema."+segs[1])
		}
		if _, err := os.Stat(filepath.Join(schemaDir, segs[1]+".json")); err == nil && !hasSchema {
			t.Errorf("%s: METADATA must declare `schemas: - input: schema.%s`", file, segs[1])
		}
	}
	for pkg := range want {
		if !seen[pkg] {
			t.Errorf("package %s is missing from policies.FS", pkg)
		}
	}
}

// TestRegoFormatted keeps every .rego file as `opa fmt` writes it, the Rego
// counterpart of gofmt.
func TestRegoFormatted(t *testing.T) {
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		raw, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return err
		}
		want, err := format.SourceWithOpts(p, raw, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("formatting %s: %v", p, err)
			return nil
		}
		if string(want) != string(raw) {
			t.Errorf("%s is not formatted: run `opa fmt -w policies/`", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newCompiler returns a compiler set up like the engine's: Rego v1, input
// schemas, type checking from METADATA annotations.
func newCompiler(t *testing.T) *ast.Compiler {
	t.Helper()
	return ast.NewCompiler().
		WithSchemas(loadSchemas(t)).
		WithUseTypeCheckAnnotations(true).
		WithDefaultRegoVersion(ast.RegoV1)
}

// newStore holds data.dwf.config with the defaults, built as the engine
// builds it.
func newStore() storage.Store { return engine.NewStore(nil) }

func loadModules(t *testing.T) map[string]*ast.Module {
	t.Helper()
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		raw, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(raw), ast.ParserOptions{
			ProcessAnnotation: true,
			RegoVersion:       ast.RegoV1,
		})
		if err != nil {
			return err
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		t.Fatalf("parsing policies: %v", err)
	}
	if len(modules) == 0 {
		t.Fatal("policies.FS holds no .rego files")
	}
	return modules
}

func loadSchemas(t *testing.T) *ast.SchemaSet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("finding input schemas in %s: %v", schemaDir, err)
	}
	ss := ast.NewSchemaSet()
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		ss.Put(ast.SchemaRootRef.Append(ast.StringTerm(name)), readSchema(t, file))
	}
	return ss
}

func readSchema(t *testing.T, file string) any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading schema: %v", err)
	}
	var schema any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("decoding schema %s: %v", file, err)
	}
	return schema
}

func output(r *tester.Result) string {
	if len(r.Output) == 0 {
		return ""
	}
	return "\n" + strings.TrimRight(string(r.Output), "\n")
}
