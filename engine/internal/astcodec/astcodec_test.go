package astcodec

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/policies"
)

func parse(t testing.TB, name, src string) *ast.Module {
	t.Helper()
	m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sources are the built-in policies (tests included, for their variety)
// and testdata/constructs.rego, which has every construct the parser
// produces.
func sources(t testing.TB) map[string]string {
	out := map[string]string{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		b, err := policies.FS.ReadFile(p)
		out["policies/"+p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/constructs.rego")
	if err != nil {
		t.Fatal(err)
	}
	out["testdata/constructs.rego"] = string(b)
	return out
}

// locations lists every location in m, in walk order, as text.
func locations(m *ast.Module) []string {
	var out []string
	add := func(what string, loc *ast.Location) {
		if loc == nil {
			out = append(out, what+" -")
			return
		}
		out = append(out, fmt.Sprintf("%s %s:%d:%d@%d %q tabs=%v", what, loc.File, loc.Row, loc.Col, loc.Offset, loc.Text, loc.Tabs))
	}
	add("package", m.Package.Location)
	for _, imp := range m.Imports {
		add("import", imp.Location)
		add("alias", imp.AliasLocation)
	}
	ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case *ast.Term:
			add("term "+x.String(), x.Location)
		case *ast.Expr:
			add("expr", x.Location)
		case *ast.Rule:
			add("rule", x.Location)
		case *ast.Head:
			add("head", x.Location)
		case *ast.With:
			add("with", x.Location)
		case *ast.SomeDecl:
			add("some", x.Location)
		case *ast.Every:
			add("every", x.Location)
		}
		return false
	}).Walk(m)
	return out
}

// sameModule fails unless got is want as compilation sees it: equal
// package, imports and rules (ast's own equality), the same locations, the
// same Rego version, and rules that point at their module.
func sameModule(t testing.TB, name string, want, got *ast.Module) {
	t.Helper()
	if !want.Equal(got) {
		t.Fatalf("%s: decoded module differs:\nwant %s\ngot  %s", name, want, got)
	}
	if want.RegoVersionSpan() != got.RegoVersionSpan() {
		t.Errorf("%s: Rego version %v, want %v", name, got.RegoVersionSpan(), want.RegoVersionSpan())
	}
	wl, gl := locations(want), locations(got)
	if !slices.Equal(wl, gl) {
		for i := range min(len(wl), len(gl)) {
			if wl[i] != gl[i] {
				t.Fatalf("%s: location %d:\nwant %s\ngot  %s", name, i, wl[i], gl[i])
			}
		}
		t.Fatalf("%s: %d locations, want %d", name, len(gl), len(wl))
	}
	for _, r := range got.Rules {
		for e := r; e != nil; e = e.Else {
			if e.Module != got {
				t.Fatalf("%s: rule at %v does not point at its module", name, e.Location)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for name, src := range sources(t) {
		t.Run(name, func(t *testing.T) {
			want := parse(t, name, src)
			data, err := Encode(want, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data, name, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			sameModule(t, name, want, got)
		})
	}
}

// TestRoundTripCompiled: what the compiler makes of the modules (generated
// variables and expressions, rewritten heads, locations it copies) comes
// back as well.
func TestRoundTripCompiled(t *testing.T) {
	srcs := sources(t)
	modules := map[string]*ast.Module{}
	for name, src := range srcs {
		if strings.HasPrefix(name, "policies/") && !strings.HasSuffix(name, "_test.rego") {
			modules[name] = parse(t, name, src)
		}
	}
	c := ast.NewCompiler()
	if c.Compile(modules); c.Failed() {
		t.Fatal(c.Errors)
	}
	for name, want := range c.Modules {
		data, err := Encode(want, []byte(srcs[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := Decode(data, name, []byte(srcs[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameModule(t, name, want, got)
	}
}

// TestConstructsAreCovered keeps testdata/constructs.rego honest: it has
// every kind of value and expression the codec writes.
func TestConstructsAreCovered(t *testing.T) {
	b, err := os.ReadFile("testdata/constructs.rego")
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, "constructs.rego", string(b))
	seen := map[string]bool{}
	ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case *ast.Term:
			seen[fmt.Sprintf("%T", x.Value)] = true
		case *ast.Expr:
			seen[fmt.Sprintf("expr %T", x.Terms)] = true
			if len(x.With) > 0 {
				seen["with"] = true
			}
			if x.Negated {
				seen["negated"] = true
			}
		case *ast.Rule:
			if x.Else != nil {
				seen["else"] = true
			}
			if x.Default {
				seen["default"] = true
			}
		}
		return false
	}).Walk(m)
	for _, want := range []string{"ast.Null", "ast.Boolean", "ast.Number", "ast.String", "ast.Var", "ast.Ref", "*ast.Array", "*ast.object", "*ast.set", "ast.Call",
		"*ast.ArrayComprehension", "*ast.ObjectComprehension", "*ast.SetComprehension", "*ast.TemplateString",
		"expr *ast.Term", "expr []*ast.Term", "expr *ast.SomeDecl", "expr *ast.Every", "with", "negated", "else", "default"} {
		if !seen[want] {
			t.Errorf("testdata/constructs.rego has no %s", want)
		}
	}
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	src := sources(t)["testdata/constructs.rego"]
	data, err := Encode(parse(t, "c.rego", src), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"other version", append([]byte{9}, data[1:]...)},
		{"truncated", data[:len(data)/2]},
		{"trailing byte", append(slices.Clone(data), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.data, "c.rego", []byte(src)); err == nil {
				t.Error("no error")
			}
		})
	}
	// A shorter source than the locations need.
	if _, err := Decode(data, "c.rego", []byte(src[:10])); err == nil {
		t.Error("no error for a source shorter than the locations")
	}
}

func TestEncodeChecksTheSource(t *testing.T) {
	src := "package p\n\nx := 1\n"
	m := parse(t, "p.rego", src)
	if _, err := Encode(m, []byte(strings.Replace(src, "x := 1", "y := 2", 1))); err == nil {
		t.Error("no error for a module encoded with another source")
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, src := range sources(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		want, err := ast.ParseModuleWithOpts("f.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil || want == nil {
			return
		}
		data, err := Encode(want, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data, "f.rego", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		sameModule(t, "f.rego", want, got)
	})
}

func FuzzDecode(f *testing.F) {
	src := sources(f)["testdata/constructs.rego"]
	data, err := Encode(parse(f, "c.rego", src), []byte(src))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		Decode(data, "c.rego", []byte(src)) //nolint:errcheck // must not panic
	})
}
