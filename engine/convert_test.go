package engine

import (
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInputValueMatchesInterfaceToValue: the parallel conversion of a large
// array gives the value ast.InterfaceToValue gives, element for element and
// in order.
func TestInputValueMatchesInterfaceToValue(t *testing.T) {
	for _, n := range []int{0, 3, parallelArrayMin - 1, parallelArrayMin, parallelArrayMin*3 + 7} {
		items := make([]any, n)
		for i := range items {
			items[i] = map[string]any{"id": fmt.Sprintf("CVE-%d", i), "n": i, "location": map[string]any{"line": i + 1}, "tags": []any{"a", i%2 == 0}, "score": 7.5, "fix": nil, "empty": map[string]any{}}
		}
		in := map[string]any{"kind": "trivy-report", "vulnerabilities": items, "image": nil}
		want, err := ast.InterfaceToValue(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := inputValue(in)
		if err != nil {
			t.Fatal(err)
		}
		if want.Compare(got) != 0 || want.Hash() != got.Hash() {
			t.Errorf("%d items: the values differ", n)
		}
	}
	if _, err := inputValue(map[string]any{"v": append(make([]any, parallelArrayMin), make(chan int))}); err == nil {
		t.Error("a value that cannot be converted gave no error")
	}
	if _, err := inputValue(map[string]any{"v": append(make([]any, parallelArrayMin), map[string]any{"loc": map[string]any{"c": make(chan int)}})}); err == nil {
		t.Error("a value that cannot be converted, in an element's object, gave no error")
	}
}

// BenchmarkInputValue: a report-sized input (5,000 objects of twenty
// fields) converted serially (ast.InterfaceToValue) and by inputValue.
func BenchmarkInputValue(b *testing.B) {
	items := make([]any, 5000)
	for i := range items {
		m := map[string]any{"location": map[string]any{"line": i + 1, "column": 5, "end_line": i + 30, "end_column": 5}}
		for k := range 19 {
			m[fmt.Sprintf("field_%d", k)] = fmt.Sprintf("value %d of item %d, long enough to look like a title", k, i)
		}
		items[i] = m
	}
	in := map[string]any{"kind": "trivy-report", "vulnerabilities": items}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := ast.InterfaceToValue(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inputValue", func(b *testing.B) {
		for b.Loop() {
			if _, err := inputValue(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// builtValue builds its own Rego value, as trivyreport.Vulnerabilities do.
type builtValue []string

func (b builtValue) RegoValue() ast.Value {
	terms := make([]*ast.Term, len(b))
	for i, s := range b {
		terms[i] = ast.StringTerm(s)
	}
	return ast.NewArray(terms...)
}

// TestInputValueOfAValueThatBuildsItself: a top-level value that builds
// its own Rego value is converted with it, up front, whatever its size,
// and the rest of the input as ast.InterfaceToValue converts it.
func TestInputValueOfAValueThatBuildsItself(t *testing.T) {
	in := map[string]any{"kind": "trivy-report", "vulnerabilities": builtValue{"CVE-1", "CVE-2"}, "location": map[string]any{"line": 1}}
	want, err := ast.InterfaceToValue(map[string]any{"kind": "trivy-report", "vulnerabilities": []any{"CVE-1", "CVE-2"}, "location": map[string]any{"line": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !convertsEagerly(in) {
		t.Error("a value that builds itself is left to the lazy conversion")
	}
	got, err := inputValue(in)
	if err != nil {
		t.Fatal(err)
	}
	if want.Compare(got) != 0 || want.Hash() != got.Hash() {
		t.Errorf("inputValue = %v, want %v", got, want)
	}
}
