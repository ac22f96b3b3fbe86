package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// rule returns a minimal rule package over the Dockerfile schema.
func rule(pkg, id, body string) string {
	return fmt.Sprintf(`# METADATA
# title: Test rule %[2]s
# description: A rule for tests.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: %[2]s
#   severity: warning
#   kind: dockerfile
#   help: Fix it.
package %[1]s

%[3]s
`, pkg, id, body)
}

// imageRule returns an image rule package with the given custom.anchor.
func imageRule(id, anchor string) string {
	return fmt.Sprintf(`# METADATA
# title: Test image rule %[1]s
# custom:
#   id: %[1]s
#   severity: warning
#   kind: image
#   anchor: %[2]s
package dwf.image.r_%[2]s

deny contains {"msg": "x"} if true
`, id, anchor)
}

// TestAnchorsFromMetadata: where an image finding lands on a Dockerfile is
// read from custom.anchor; no anchor means the FROM.
func TestAnchorsFromMetadata(t *testing.T) {
	files := map[string]string{"u.rego": imageRule("ACME1", "user"), "e.rego": imageRule("ACME2", "entrypoint"), "f.rego": imageRule("ACME3", "from")}
	files["n.rego"] = strings.Replace(imageRule("ACME4", "none"), "#   anchor: none\n", "", 1)
	eng, err := newEngine(t, files)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]finding.Anchor{"ACME1": finding.AnchorUser, "ACME2": finding.AnchorEntrypoint, "ACME3": finding.AnchorFrom, "ACME4": ""}
	for id, anchor := range want {
		if r, _ := eng.Rule(id); r.Anchor != anchor {
			t.Errorf("%s: anchor %q, want %q", id, r.Anchor, anchor)
		}
	}
}

func newEngine(t *testing.T, files map[string]string) (*Engine, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return New(context.Background(), Options{Policies: []PolicySource{{Name: "p", FS: fsys}}})
}

func dockerDoc(path string, stages int) *document.Document {
	st := make([]any, stages)
	for i := range st {
		st[i] = map[string]any{"index": i}
	}
	return &document.Document{Kind: document.KindDockerfile, Path: path, Input: map[string]any{
		"kind": "dockerfile", "path": path, "stages": st,
		"final": map[string]any{"location": document.Location{Line: 3, Column: 1, EndLine: 3, EndColumn: 9}.Value()},
	}}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing metadata", map[string]string{"a.rego": "package dwf.dockerfile.a\n\ndeny contains {\"msg\": \"x\"} if true\n"},
			"p/a.rego:1: package dwf.dockerfile.a has no METADATA"},
		{"duplicate id", map[string]string{
			"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if true`),
			"b.rego": rule("dwf.dockerfile.b", "ACME1", `deny contains {"msg": "b"} if true`)},
			"p/b.rego:11: rule ID ACME1 is already used by p/a.rego:11"},
		{"kind mismatch", map[string]string{"a.rego": rule("dwf.workflow.a", "ACME1", `deny contains {"msg": "a"} if true`)},
			`custom.kind "dockerfile" does not match the package namespace dwf.workflow`},
		{"outside dwf", map[string]string{"a.rego": "package acme.a\n\ndeny contains {\"msg\": \"x\"} if true\n"},
			"is not under dwf.<kind>: its rules would never run"},
		{"bad id", map[string]string{"a.rego": rule("dwf.dockerfile.a", "lower-1", `deny contains {"msg": "a"} if true`)},
			`rule ID "lower-1" must be uppercase`},
		{"misspelt input field fails type check", map[string]string{"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if input.final.usr`)},
			"p/a.rego:13: rego_type_error"},
		{"misspelt field under a nullable object fails too", map[string]string{"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if input.final.user.naem`)},
			"p/a.rego:13: rego_type_error"},
		{"syntax error names file and line", map[string]string{"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if {`)},
			"p/a.rego:14: rego_parse_error"},
		{"anchor on a rule that is not about images", map[string]string{"a.rego": strings.Replace(rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if true`), "#   kind: dockerfile", "#   kind: dockerfile\n#   anchor: user", 1)},
			"custom.anchor is only for image rules"},
		{"unknown anchor", map[string]string{"a.rego": imageRule("ACME1", "cmd")},
			"custom.anchor cmd must be user, entrypoint or from"},
		{"http.send refused in the sandbox", map[string]string{"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if http.send({"method": "GET", "url": "http://127.0.0.1"})`)},
			"undefined function http.send"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newEngine(t, tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	eng, err := newEngine(t, map[string]string{
		"lib.rego":   "package dwf.lib.helpers\n\nstage_count := count(input.stages)\n",
		"loc.rego":   rule("dwf.dockerfile.located", "ACME1", "import data.dwf.lib.helpers\n\ndeny contains {\"msg\": sprintf(\"%d stages\", [helpers.stage_count]), \"location\": input.final.location} if true"),
		"noloc.rego": rule("dwf.dockerfile.unlocated", "ACME2", `deny contains {"msg": "no location"} if count(input.stages) > 1`),
		"cfg.rego":   rule("dwf.dockerfile.cfg", "ACME3", `deny contains {"msg": sprintf("uid %d", [data.dwf.config.uid])} if count(input.stages) > 1`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Evaluate(context.Background(), []*document.Document{dockerDoc("b/Dockerfile", 2), dockerDoc("a/Dockerfile", 1)})
	if err != nil {
		t.Fatal(err)
	}
	loc := document.Location{Line: 3, Column: 1, EndLine: 3, EndColumn: 9}
	want := []finding.Finding{
		{RuleID: "ACME1", Severity: finding.SeverityWarning, Message: "1 stages", Path: "a/Dockerfile", Location: loc},
		{RuleID: "ACME2", Severity: finding.SeverityWarning, Message: "no location", Path: "b/Dockerfile"},
		{RuleID: "ACME3", Severity: finding.SeverityWarning, Message: "uid 1001", Path: "b/Dockerfile"},
		{RuleID: "ACME1", Severity: finding.SeverityWarning, Message: "2 stages", Path: "b/Dockerfile", Location: loc},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if r, ok := eng.Rule("ACME1"); !ok || r.Name != "dockerfile/located" || r.Title != "Test rule ACME1" || r.Builtin {
		t.Errorf("rule metadata = %+v", r)
	}
}

func TestSeverityOverrides(t *testing.T) {
	fsys := fstest.MapFS{
		"a.rego": {Data: []byte(rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if true`))},
		"b.rego": {Data: []byte(rule("dwf.dockerfile.b", "ACME2", `deny contains {"msg": "b"} if true`))},
	}
	eng, err := New(context.Background(), Options{
		Policies:   []PolicySource{{Name: "p", FS: fsys}},
		Severities: map[string]finding.Severity{"ACME1": finding.SeverityError, "ACME2": finding.SeverityNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Evaluate(context.Background(), []*document.Document{dockerDoc("Dockerfile", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RuleID != "ACME1" || got[0].Severity != finding.SeverityError {
		t.Errorf("findings = %+v, want only ACME1 at error", got)
	}
}

func TestEvaluateConcurrentIsDeterministic(t *testing.T) {
	eng, err := newEngine(t, map[string]string{
		"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": sprintf("%d", [count(input.stages)])} if true`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var docs []*document.Document
	for i := range 200 {
		docs = append(docs, dockerDoc(fmt.Sprintf("d%03d/Dockerfile", i), i%5))
	}
	first, err := eng.Evaluate(context.Background(), docs)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := eng.Evaluate(context.Background(), docs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("evaluation is not deterministic:\n%s", diff)
		}
	}
	if len(first) != 200 {
		t.Errorf("got %d findings, want 200", len(first))
	}
}

func TestDecodeFindingErrors(t *testing.T) {
	eng, err := newEngine(t, map[string]string{
		"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"message": "typo"} if true`),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = eng.Evaluate(context.Background(), []*document.Document{dockerDoc("Dockerfile", 1)})
	if err == nil || !strings.Contains(err.Error(), `rule ACME1: deny produced a finding without a "msg" string`) {
		t.Fatalf("err = %v", err)
	}
}

// TestDocsExamplePolicy runs the custom-policy example of docs/inputs.md on a
// real document shape, so the documentation cannot show a broken policy.
func TestDocsExamplePolicy(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "inputs.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "```rego\n")
	src, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/inputs.md has no rego example")
	}
	eng, err := newEngine(t, map[string]string{"example.rego": src})
	if err != nil {
		t.Fatalf("the documented example does not compile: %v", err)
	}
	loc := document.Location{Line: 2, Column: 1, EndLine: 2, EndColumn: 30}
	doc := &document.Document{Kind: document.KindDockerfile, Path: "Dockerfile", Input: map[string]any{
		"instructions": []any{map[string]any{"cmd": "add", "args": []any{"https://example.com/x", "/x"}, "location": loc.Value()}},
	}}
	got, err := eng.Evaluate(context.Background(), []*document.Document{doc})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RuleID != "ACME101" || got[0].Location != loc {
		t.Errorf("findings = %+v, want one ACME101 at %v", got, loc)
	}
}

// TestRepositoryRulesSeeEveryDocument: a repository rule gets one document
// listing every loaded file with its kind and input, and places its finding
// in the file it names.
func TestRepositoryRulesSeeEveryDocument(t *testing.T) {
	eng, err := newEngine(t, map[string]string{
		"docker.rego": rule("dwf.dockerfile.noop", "ACME1", `deny contains {"msg": "never"} if false`),
		"repo.rego": strings.NewReplacer("schema.dockerfile", "schema.repository", "kind: dockerfile", "kind: repository").Replace(
			rule("dwf.repository.count", "ACME9", `deny contains {"msg": sprintf("%d documents, stages of the first: %d", [count(input.documents), count(input.documents[0].input.stages)]), "path": input.documents[1].path} if input.documents[0].kind == "dockerfile"`)),
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := []*document.Document{dockerDoc("a/Dockerfile", 3), dockerDoc("b/Dockerfile", 1)}
	got, err := eng.Run(context.Background(), 3, func(i int) (*document.Document, error) {
		if i == 2 {
			return nil, &document.ParseError{Path: "broken/Dockerfile", Message: "bad"}
		}
		return docs[i], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []finding.Finding{
		{RuleID: "ACME9", Severity: finding.SeverityWarning, Message: "2 documents, stages of the first: 3", Path: "b/Dockerfile"},
		{RuleID: "DWF000", Severity: finding.SeverityError, Message: "bad", Path: "broken/Dockerfile"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestRepositoryInputsDeclared: a repository rule that declares
// custom.inputs sees only those kinds, and still runs when none is there.
func TestRepositoryInputsDeclared(t *testing.T) {
	repoRule := func(inputs, body string) string {
		return strings.NewReplacer("schema.dockerfile", "schema.repository", "kind: dockerfile", "kind: repository\n#   inputs: "+inputs).Replace(
			rule("dwf.repository.r", "ACME9", body))
	}
	eng, err := newEngine(t, map[string]string{
		"docker.rego": rule("dwf.dockerfile.noop", "ACME1", `deny contains {"msg": "never"} if false`),
		"repo.rego":   repoRule("[workflow]", `deny contains {"msg": sprintf("%d workflow documents", [count(input.documents)]), "path": "x"} if true`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Evaluate(context.Background(), []*document.Document{dockerDoc("a/Dockerfile", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Message != "0 workflow documents" {
		t.Errorf("findings = %+v, want one saying 0 workflow documents", got)
	}
	if _, err := newEngine(t, map[string]string{"repo.rego": repoRule("workflow", `deny contains {"msg": "x"} if true`)}); err == nil ||
		!strings.Contains(err.Error(), "custom.inputs must be a non-empty list of input kinds") {
		t.Errorf("a scalar custom.inputs: err = %v", err)
	}
}

// TestUnconvertibleInputIsAnError: a document value that is not JSON,
// converted lazily when a rule reads it, is an error naming the file, not
// a panic.
func TestUnconvertibleInputIsAnError(t *testing.T) {
	e, err := newEngine(t, map[string]string{
		"a.rego": rule("dwf.dockerfile.a", "DWF901", `deny contains {"msg": "x"} if count(input.stages) > 0`),
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := &document.Document{Kind: document.KindDockerfile, Path: "Dockerfile", Input: map[string]any{"stages": []any{make(chan int)}}}
	_, err = e.EvaluateOne(context.Background(), doc)
	if err == nil || !strings.Contains(err.Error(), "evaluating Dockerfile: converting input") {
		t.Errorf("got %v, want an error converting the input of Dockerfile", err)
	}
}
