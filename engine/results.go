package engine

import (
	"encoding/json"
	"reflect"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// resultValue leaves a query result's bindings as Rego values instead of
// converting them to JSON values whole: a deny of a report's thousands of
// findings became a map each, only for decodeFinding to read five fields
// of it. decodeDeny reads them from the Rego values.
func resultValue(t *ast.Term, _ *rego.EvalContext) (any, error) {
	return t.Value, nil
}

// jsonValue is a binding as OPA would have returned it: the JSON value of
// its Rego value (nil for anything else).
func jsonValue(binding any) any {
	v, ok := binding.(ast.Value)
	if !ok {
		return nil
	}
	x, err := ast.JSON(v)
	if err != nil {
		return nil
	}
	return x
}

// internMax is the most findings a deny may have for their messages to be
// interned: messages repeat across files, a few findings each, while a
// report's thousands of findings each have a message of their own, and
// interning them only cost time.
const internMax = 64

// lazyObjectType is the type of ast.LazyObject's objects, whose JSON value
// is the Go map they wrap: decodeDeny converts them whole, as before.
var lazyObjectType = reflect.TypeOf(ast.LazyObject(nil))

// decodeDeny appends to out the findings of a package's deny, a Rego
// value of type typ: what decodeFinding makes of each element denied
// returns of its JSON value. The elements of a set that are objects OPA
// built (every finding a rule writes as an object) are read field by
// field (decodeObject) instead of being converted to a map each.
func decodeDeny(out []finding.Finding, typ string, deny any, rule *finding.Rule, doc *document.Document) ([]finding.Finding, error) {
	set, ok := deny.(ast.Set)
	if !ok || typ != "set" {
		for _, v := range denied(typ, jsonValue(deny)) {
			f, err := decodeFinding(v, rule, doc, true)
			if err != nil {
				return out, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	intern := set.Len() <= internMax
	err := set.Iter(func(t *ast.Term) error { // the order of ast.JSON's
		var f finding.Finding
		var err error
		if o, ok := t.Value.(ast.Object); ok && reflect.TypeOf(o) != lazyObjectType {
			f, err = decodeObject(o, rule, doc, intern)
		} else {
			var v any
			if v, err = ast.JSON(t.Value); err == nil {
				f, err = decodeFinding(v, rule, doc, intern)
			}
		}
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// findingFields are the fields of a finding object decodeFields reads.
var findingFields = [...]string{"msg", "path", "subject", "suppressed_by", "fingerprint", "security_severity", "severity", "location"}

// decodeObject is decodeFinding of ast.JSON(o), reading only the fields
// it needs, in one pass over o, each converted as ast.JSON converts it (a
// string key is the only kind whose JSON is a field's name), but for a
// location object OPA built: its numbers are read as intOf reads their
// JSON, without a map.
func decodeObject(o ast.Object, rule *finding.Rule, doc *document.Document, intern bool) (finding.Finding, error) {
	var values [len(findingFields)]ast.Value
	o.Foreach(func(k, v *ast.Term) {
		if key, ok := k.Value.(ast.String); ok {
			if i := slices.Index(findingFields[:], string(key)); i >= 0 {
				values[i] = v.Value
			}
		}
	})
	var convErr error
	f, err := decodeFields(func(key string) any {
		v := values[slices.Index(findingFields[:], key)]
		switch x := v.(type) {
		case nil:
			return nil
		case ast.String:
			return string(x)
		case ast.Number:
			return json.Number(x)
		case ast.Object:
			if key == "location" && reflect.TypeOf(x) != lazyObjectType {
				return locationOf(x)
			}
		}
		x, err := ast.JSON(v)
		if err != nil && convErr == nil {
			convErr = err
		}
		return x
	}, rule, doc, intern)
	if convErr != nil {
		return finding.Finding{}, convErr
	}
	return f, err
}

// locationOf reads a location object as decodeFields reads its JSON map:
// each of line, column, end_line and end_column is intOf its JSON value.
func locationOf(o ast.Object) document.Location {
	var l document.Location
	o.Foreach(func(k, v *ast.Term) {
		key, ok := k.Value.(ast.String)
		if !ok {
			return
		}
		n := 0
		if num, ok := v.Value.(ast.Number); ok {
			n = intOf(json.Number(num))
		}
		switch key {
		case "line":
			l.Line = n
		case "column":
			l.Column = n
		case "end_line":
			l.EndLine = n
		case "end_column":
			l.EndColumn = n
		}
	})
	return l
}
