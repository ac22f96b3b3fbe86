package yamlpos

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"
)

// valueRange parses src, finds the value of mapping key `k` at the top
// level, and returns the range of the value and of the whole entry.
func valueRange(t *testing.T, src, k string) (Range, Range) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parsing %q: %v", src, err)
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			tx := New([]byte(src))
			return tx.Range(m.Content[i+1]), tx.EntryRange(m.Content[i], m.Content[i+1])
		}
	}
	t.Fatalf("no key %q in %q", k, src)
	return Range{}, Range{}
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		name, src   string
		value, entr Range
	}{
		{"plain", "k: hello world\n", Range{1, 4, 1, 14}, Range{1, 1, 1, 14}},
		{"plain with comment", "k: hello # note\n", Range{1, 4, 1, 8}, Range{1, 1, 1, 8}},
		{"double quoted", "k: \"a \\\" b\"\n", Range{1, 4, 1, 11}, Range{1, 1, 1, 11}},
		{"single quoted with doubled quote", "k: 'it''s'\n", Range{1, 4, 1, 10}, Range{1, 1, 1, 10}},
		{"code points", "k: héllo\n", Range{1, 4, 1, 8}, Range{1, 1, 1, 8}},
		{"literal", "k: |\n  one\n  two\nx: 1\n", Range{1, 4, 3, 5}, Range{1, 1, 1, 1}},
		{"folded", "k: >\n  one\n  two\nx: 1\n", Range{1, 4, 3, 5}, Range{1, 1, 1, 1}},
		{"plain over two lines", "k: one\n  two\nx: 1\n", Range{1, 4, 2, 5}, Range{1, 1, 1, 1}},
		{"flow sequence", "k: [a, b]\n", Range{1, 4, 1, 9}, Range{1, 1, 1, 1}},
		{"flow mapping", "k: {a: 1, b: 2}\n", Range{1, 4, 1, 15}, Range{1, 1, 1, 1}},
		{"block mapping", "k:\n  a: 1\n  b: two\n", Range{2, 3, 3, 8}, Range{1, 1, 1, 1}},
		{"empty value ends at the colon", "k:\n  a:\n", Range{2, 3, 2, 4}, Range{1, 1, 1, 1}},
		{"anchor skipped", "k: &x value\n", Range{1, 4, 1, 11}, Range{1, 1, 1, 11}},
		{"crlf", "k: v\r\nx: 1\r\n", Range{1, 4, 1, 4}, Range{1, 1, 1, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, e := valueRange(t, tc.src, "k")
			if diff := cmp.Diff(tc.value, v); diff != "" {
				t.Errorf("value range (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.entr, e); diff != "" {
				t.Errorf("entry range (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAliasRangeIsTheToken(t *testing.T) {
	src := "a: &x value\nk: *x\n"
	v, _ := valueRange(t, src, "k")
	if diff := cmp.Diff(Range{2, 4, 2, 5}, v); diff != "" {
		t.Errorf("alias range (-want +got):\n%s", diff)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if d := Deref(doc.Content[0].Content[3]); d == nil || d.Value != "value" {
		t.Errorf("Deref(*x) = %v, want the anchored scalar", d)
	}
}

func TestNilAndOutOfRange(t *testing.T) {
	tx := New([]byte("a: 1\n"))
	if r := tx.Range(nil); r != (Range{}) {
		t.Errorf("Range(nil) = %v, want zero", r)
	}
	if l := tx.Line(0) + tx.Line(99) + tx.From(99, 3); l != "" {
		t.Errorf("out-of-range lines = %q, want empty", l)
	}
}

func TestRecursiveAlias(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want int // line of the recursive alias, 0 for none
	}{
		{"a: &x [1, 2]\nb: *x\n", 0},
		{"a: &x\n  - *x\n", 2},
		{"a: &x {b: &y [*y]}\n", 1},
		{"a: &x [1]\nb: &y [*x, *x]\nc: [*y, *y]\n", 0},
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		got := 0
		if n := RecursiveAlias(&doc); n != nil {
			got = n.Line
		}
		if got != tc.want {
			t.Errorf("RecursiveAlias(%q) at line %d, want %d", tc.src, got, tc.want)
		}
	}
}

func TestAliasBomb(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		bomb += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(bomb), &doc); err != nil {
		t.Fatal(err)
	}
	if n := AliasBomb(&doc, AliasLimit(len(bomb))); n == nil {
		t.Errorf("AliasBomb found nothing in a billion-laughs document")
	}
	var small yaml.Node
	if err := yaml.Unmarshal([]byte("a: &a [x]\nb: [*a, *a]\n"), &small); err != nil {
		t.Fatal(err)
	}
	if n := AliasBomb(&small, AliasLimit(20)); n != nil {
		t.Errorf("AliasBomb flagged a small document at line %d", n.Line)
	}
}
