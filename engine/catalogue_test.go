package engine

import (
	"bytes"
	"context"
	"flag"
	"os"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/policies"
)

var update = flag.Bool("update", false, "rewrite policies/catalogue.json and policies/modules.bin")

// TestBuiltinCatalogue: the catalogue embedded beside the built-in policies
// is what parsing them gives (refresh it with -update).
func TestBuiltinCatalogue(t *testing.T) {
	want, err := BuildCatalogue(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	const file = "../policies/" + CatalogueFile
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return // the embedded copy is the new file once the test is rebuilt
	}
	got, err := policies.FS.ReadFile(CatalogueFile)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk, err := os.ReadFile(file); err != nil || !bytes.Equal(got, onDisk) {
		t.Fatalf("the embedded catalogue is not %s (rebuild the test binary): %v", file, err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./engine -run TestBuiltinCatalogue -update\n(-want +got)\n%s", file, diff)
	}
}

// TestBuiltinModules: the compiled modules embedded beside the built-in
// policies are what compiling them gives (refresh them with -update). The
// encoding itself is tested in engine/internal/astcodec (a decoded module
// equals the encoded one), compiling them in TestPrecompiledCompilesTheSame.
func TestBuiltinModules(t *testing.T) {
	want, err := BuildModules(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	const file = "../policies/" + ModulesFile
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := policies.FS.ReadFile(ModulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk, err := os.ReadFile(file); err != nil || !bytes.Equal(got, onDisk) {
		t.Fatalf("the embedded modules are not %s (rebuild the test binary): %v", file, err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is stale; run go test ./engine -run TestBuiltinModules -update", file)
	}
	if ix := readModuleIndex(policies.FS); ix == nil || len(ix.entries) == 0 {
		t.Errorf("%s has no module", file)
	}
}

// TestCatalogueGivesTheSameRules: the rule catalogue read from the
// embedded catalogue is the one read by parsing every module, and a
// deferred engine parses no built-in module before a compile needs it.
func TestCatalogueGivesTheSameRules(t *testing.T) {
	ctx := context.Background()
	src := []PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}}
	deferred, err := New(ctx, Options{Policies: src, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range deferred.files {
		if f.module != nil {
			t.Errorf("%s parsed before any compile", f.name)
		}
	}
	full, err := New(ctx, Options{Policies: src})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full.Rules(), deferred.Rules()); diff != "" {
		t.Errorf("rules differ (-parsed +catalogue):\n%s", diff)
	}
	if r, ok := full.RepositoryInputs(); !ok || !slices.Equal(r, []document.Kind{document.KindWorkflow}) {
		t.Errorf("repository inputs %v %v", r, ok)
	}
	if diff := cmp.Diff(full.kinds, deferred.kinds); diff != "" {
		t.Errorf("kinds differ:\n%s", diff)
	}
}

// TestStaleCatalogueEntryIsParsed: a module whose content does not match
// its catalogue entry is parsed instead of described by the entry.
func TestStaleCatalogueEntryIsParsed(t *testing.T) {
	fsys := fstest.MapFS{
		"dockerfile/a.rego": {Data: []byte(rule("dwf.dockerfile.a", "DWF901", denyAll))},
	}
	cat, err := BuildCatalogue(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fsys[CatalogueFile] = &fstest.MapFile{Data: cat}
	fsys["dockerfile/a.rego"] = &fstest.MapFile{Data: []byte(rule("dwf.dockerfile.a", "DWF902", denyAll))}
	e, err := New(context.Background(), Options{Policies: []PolicySource{{Name: "p", FS: fsys, Builtin: true}}, Deferred: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Rule("DWF902"); !ok {
		t.Errorf("rules %v: the stale entry was used", e.Rules())
	}
}

const denyAll = `deny contains {"msg": "x"} if true`
