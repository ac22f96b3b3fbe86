package engine

import (
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/document"
)

// Deterministic reports whether the rules of kind give the same findings
// for the same input and data every time: neither they nor any package
// they refer to calls a builtin OPA declares nondeterministic (time.now_ns,
// http.send, rand.intn, uuid.rfc4122, opa.runtime, ...). A caller that
// sees the same document again (the admission webhook) may then keep its
// findings instead of evaluating it again. It is false when the policies
// of the kind cannot be parsed.
func (e *Engine) Deterministic(kind document.Kind) bool {
	if !e.kinds[kind] {
		return true
	}
	nondeterministic := map[string]bool{}
	builtins := ast.CapabilitiesForThisVersion().Builtins
	if e.caps != nil {
		builtins = append(builtins, e.caps.Builtins...)
	}
	for _, b := range builtins {
		if b.Nondeterministic {
			nondeterministic[b.Name] = true
		}
	}
	// closure parses the files it reaches: compiling holds the same lock.
	e.mu.Lock()
	files, precompiled, err := closure(e.files, []string{kindSegment(kind)}, e.typeCheck)
	e.mu.Unlock()
	if err != nil {
		return false
	}
	for _, f := range files {
		if callsAny(moduleFor(f, precompiled), nondeterministic) {
			return false
		}
	}
	return true
}

// callsAny reports whether module m calls one of the builtins in names,
// as an expression (`f(x)`) or as a term (`y := f(x)`, `[f(x)]`).
func callsAny(m *ast.Module, names map[string]bool) bool {
	found := false
	ast.WalkExprs(m, func(x *ast.Expr) bool {
		if x.IsCall() && names[x.Operator().String()] {
			found = true
		}
		return found
	})
	ast.WalkTerms(m, func(t *ast.Term) bool {
		if c, ok := t.Value.(ast.Call); ok && len(c) > 0 && names[c[0].String()] {
			found = true
		}
		return found
	})
	return found
}
