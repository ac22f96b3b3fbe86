package engine

import (
	"runtime"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// parallelArrayMin is the length from which an array of the input is
// converted in parallel chunks: a Trivy report's thousands of
// vulnerabilities, twenty fields each, take tens of milliseconds to
// convert on one core.
const parallelArrayMin = 2048

// A regoValuer builds its own Rego value, straight from Go structs
// rather than through a map per element: a Trivy report's vulnerabilities
// (trivyreport.Vulnerabilities). The value is immutable.
type regoValuer interface {
	RegoValue() ast.Value
}

// inputValue converts a document's input to the value OPA evaluates, as
// ast.InterfaceToValue does, but a top-level value that builds its own
// (regoValuer) builds it, and each other large array of the top level is
// converted on every core: conversion is a pure function of the Go
// values, and the evaluation that follows is single-threaded for one
// document.
func inputValue(in map[string]any) (ast.Value, error) {
	if !convertsEagerly(in) {
		return ast.InterfaceToValue(in)
	}
	kvs := make([][2]*ast.Term, 0, len(in))
	for k, v := range in {
		var val ast.Value
		var err error
		switch x := v.(type) {
		case regoValuer:
			val = x.RegoValue()
		case []any:
			if len(x) >= parallelArrayMin {
				val, err = parallelArray(x)
			} else {
				val, err = ast.InterfaceToValue(x)
			}
		default:
			val, err = ast.InterfaceToValue(v)
		}
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(val)})
	}
	return ast.NewObject(kvs...), nil
}

// convertsEagerly reports whether a top-level value of in builds its own
// Rego value (ast.LazyObject would convert it through JSON) or is an array
// worth converting on every core.
func convertsEagerly(in map[string]any) bool {
	for _, v := range in {
		switch x := v.(type) {
		case regoValuer:
			return true
		case []any:
			if len(x) >= parallelArrayMin {
				return true
			}
		}
	}
	return false
}

// parallelArray converts a in as many chunks as there are cores.
func parallelArray(a []any) (ast.Value, error) {
	terms := make([]*ast.Term, len(a))
	n := min(runtime.GOMAXPROCS(0), 8)
	chunk := (len(a) + n - 1) / n
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		lo, hi := w*chunk, min((w+1)*chunk, len(a))
		if lo >= hi {
			break
		}
		wg.Go(func() {
			keys := map[string]*ast.Term{}
			for i := lo; i < hi; i++ {
				v, err := elementValue(a[i], keys)
				if err != nil {
					errs[w] = err
					return
				}
				terms[i] = ast.NewTerm(v)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ast.NewArray(terms...), nil
}

// elementValue converts one element of a large array as
// ast.InterfaceToValue does, but an object's keys are terms shared
// through keys: the elements of a report's array have the same twenty
// keys, and a term of each for each of five thousand elements was a
// third of the conversion's allocations. keys is one goroutine's.
func elementValue(v any, keys map[string]*ast.Term) (ast.Value, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return ast.InterfaceToValue(v)
	}
	vals := make([]ast.Term, len(m))
	kvs := make([][2]*ast.Term, 0, len(m))
	for k, x := range m {
		key, ok := keys[k]
		if !ok {
			key = ast.StringTerm(k)
			keys[k] = key
		}
		val, err := elementValue(x, keys)
		if err != nil {
			return nil, err
		}
		t := &vals[len(kvs)]
		t.Value = val
		kvs = append(kvs, [2]*ast.Term{key, t})
	}
	return ast.NewObject(kvs...), nil
}
