package image

import (
	"context"
	"fmt"
	"github.com/devflow/dwf-policy/engine"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/policies"
)

// finding is what a rule reported, with the rule's ID from its METADATA.
type finding struct {
	ID      string
	Msg     string
	Subject string
}

func (f finding) String() string { return fmt.Sprintf("%s %s: %s", f.ID, f.Subject, f.Msg) }

// evaluator runs the real built-in image rules the way the engine does:
// policies.FS without tests, input schemas type-checked, data.dwf.config
// with the defaults.
type evaluator struct {
	deny   rego.PreparedEvalQuery
	schema rego.PreparedEvalQuery
	ids    map[string]string // package path -> rule ID
}

var rules = sync.OnceValues(func() (*evaluator, error) {
	ctx := context.Background()
	// Compiled exactly as the engine compiles custom policies: schemas
	// type-checked, the sandbox's capabilities.
	modules, err := engine.LoadModules([]engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}})
	if err != nil {
		return nil, err
	}
	schemas, err := document.Schemas()
	if err != nil {
		return nil, err
	}
	c, err := engine.NewCompiler(nil)
	if err != nil {
		return nil, err
	}
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("compiling policies: %v", c.Errors)
	}
	ev := &evaluator{ids: map[string]string{}}
	for _, e := range c.GetAnnotationSet().Flatten() {
		if id, ok := e.Annotations.Custom["id"].(string); ok && e.Annotations.Scope == "package" {
			ev.ids[e.Path.String()] = id
		}
	}
	store := inmem.NewFromObject(map[string]any{
		"dwf": map[string]any{"config": map[string]any{
			"uid": 1001, "user": "dwfuser", "init": []any{"tini"}, "trivy_severities": []any{"CRITICAL", "HIGH"},
		}},
		"test": map[string]any{"image_schema": schemas["image"]},
	})
	if ev.deny, err = rego.New(rego.Compiler(c), rego.Store(store), rego.Query("data.dwf.image[name].deny[f]")).PrepareForEval(ctx); err != nil {
		return nil, err
	}
	if ev.schema, err = rego.New(rego.Store(store), rego.Query("r := json.match_schema(input, data.test.image_schema)")).PrepareForEval(ctx); err != nil {
		return nil, err
	}
	return ev, nil
})

// evaluate returns the findings of the image rules for doc, sorted.
func evaluate(t testing.TB, doc map[string]any) []finding {
	t.Helper()
	ev, err := rules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ev.deny.Eval(context.Background(), rego.EvalInput(doc))
	if err != nil {
		t.Fatalf("evaluating image rules: %v", err)
	}
	var out []finding
	for _, r := range rs {
		pkg := "data.dwf.image." + r.Bindings["name"].(string)
		f := r.Bindings["f"].(map[string]any)
		id, ok := ev.ids[pkg]
		if !ok {
			t.Fatalf("no METADATA id for %s", pkg)
		}
		if _, ok := f["location"]; ok {
			t.Errorf("%s: image findings carry no location: %v", id, f)
		}
		msg, _ := f["msg"].(string)
		subject, _ := f["subject"].(string)
		out = append(out, finding{ID: id, Msg: msg, Subject: subject})
	}
	slices.SortFunc(out, func(a, b finding) int {
		return strings.Compare(a.ID+a.Subject+a.Msg, b.ID+b.Subject+b.Msg)
	})
	return out
}

// ids lists the rule IDs of findings, one per finding.
func ids(fs []finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// checkSchema validates a document against engine/document/schemas/image.json.
func checkSchema(t testing.TB, doc map[string]any) {
	t.Helper()
	ev, err := rules()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ev.schema.Eval(context.Background(), rego.EvalInput(doc))
	if err != nil {
		t.Fatalf("validating document: %v", err)
	}
	r := rs[0].Bindings["r"].([]any)
	if ok, _ := r[0].(bool); !ok {
		t.Errorf("document does not match image.json: %v", r[1])
	}
}

// TestRuleCatalogue pins the IDs of issue 5, a contract with users'
// suppressions.
func TestRuleCatalogue(t *testing.T) {
	ev, err := rules()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"data.dwf.image.non_root_user":           "DWF301",
		"data.dwf.image.uid_1001":                "DWF302",
		"data.dwf.image.tini_entrypoint":         "DWF303",
		"data.dwf.image.platforms":               "DWF304",
		"data.dwf.image.zstd_layers":             "DWF305",
		"data.dwf.image.no_vulnerability_report": "DWF404",
	}
	for pkg, id := range want {
		if got := ev.ids[pkg]; got != id {
			t.Errorf("%s: id %q, want %q", pkg, got, id)
		}
	}
	for pkg := range ev.ids {
		if strings.HasPrefix(pkg, "data.dwf.image.") && want[pkg] == "" {
			t.Errorf("unexpected image rule %s", pkg)
		}
	}
}

// TestRegoFixturesMatchSchema keeps the Rego test fixtures honest: `with
// input as` documents are not type-checked, so they are validated here.
func TestRegoFixturesMatchSchema(t *testing.T) {
	ctx := context.Background()
	modules := map[string]string{}
	for _, p := range []string{"image/fixtures_test.rego"} {
		raw, err := fs.ReadFile(policies.FS, p)
		if err != nil {
			t.Fatal(err)
		}
		modules[p] = string(raw)
	}
	opts := []func(*rego.Rego){rego.Query("data.dwf.image.fixtures_test.samples")}
	for p, src := range modules {
		opts = append(opts, rego.Module(p, src))
	}
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	samples := rs[0].Expressions[0].Value.([]any)
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range samples {
		checkSchema(t, s.(map[string]any))
	}
}

// TestSchemaIsStrict checks that the schema check in load would catch a
// field the schema does not describe, or a wrong type.
func TestSchemaIsStrict(t *testing.T) {
	ev, err := rules()
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t, nil)
	ref := reg.ref("team/app:1")
	reg.push(t, ref, image(t, "linux/amd64", goodConfig()))
	for _, mutate := range []func(map[string]any){
		func(d map[string]any) { d["extra"] = true },
		func(d map[string]any) {
			d["platforms"].([]any)[0].(map[string]any)["user"].(map[string]any)["uid"] = "1001"
		},
		func(d map[string]any) {
			d["platforms"].([]any)[0].(map[string]any)["entrypoint"].(map[string]any)["form"] = "shell"
		},
	} {
		d := load(t, ref, reg.options())
		mutate(d)
		rs, err := ev.schema.Eval(context.Background(), rego.EvalInput(d))
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := rs[0].Bindings["r"].([]any)[0].(bool); ok {
			t.Errorf("schema accepts a mutated document")
		}
	}
}
