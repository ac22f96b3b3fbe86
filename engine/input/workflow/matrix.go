package workflow

import (
	"maps"
	"slices"

	"go.yaml.in/yaml/v4"
)

// maxMatrixCombinations bounds the expansion of a matrix: GitHub runs at
// most 256 jobs of one matrix. Beyond it (or for a matrix that is not
// plain lists), the values are taken from the lists as written, exclude
// not applied, which can only name more values than the jobs use.
const maxMatrixCombinations = 256

// maxMatrixEntries bounds the include and exclude entries expanded: each
// is matched against every combination.
const maxMatrixEntries = 1024

// matrixCell is one matrix value: a scalar, or another YAML value (a list,
// a map) that no `${{ matrix.NAME }}` subcommand can be and that matches
// no exclude entry.
type matrixCell struct {
	value  string
	scalar bool
}

// matrixValues returns, for each matrix variable, the scalar values the
// matrix's jobs get (in source order, without repeats), as GitHub expands
// it:
// the combinations of the variables' lists, less those an `exclude` entry
// matches, then each `include` entry added to every combination whose
// original variables it does not change, or as a combination of its own
// when there is none. Policies resolve `${{ matrix.NAME }}` with it (a
// Trivy scan type set by the matrix): a value every combination with it is
// excluded from is not one a job scans with. Nil when the matrix is not a
// mapping (a `${{ fromJSON(...) }}` expression, not known statically).
func matrixValues(v *yaml.Node) map[string][]string {
	d := deref(v)
	if d == nil || d.Kind != yaml.MappingNode {
		return nil
	}
	var keys []string
	lists := map[string][]matrixCell{}
	var includes, excludes []map[string]matrixCell
	for _, kv := range pairs(d) {
		switch name := kv[0].Value; name {
		case "include":
			includes = matrixEntries(kv[1])
		case "exclude":
			excludes = matrixEntries(kv[1])
		default:
			if !slices.Contains(keys, name) {
				keys = append(keys, name)
			}
			if list := deref(kv[1]); list != nil && list.Kind == yaml.SequenceNode {
				for _, item := range list.Content {
					lists[name] = append(lists[name], cellOf(item))
				}
			} else {
				lists[name] = append(lists[name], cellOf(kv[1]))
			}
		}
	}
	combos, ok := matrixProduct(keys, lists)
	if !ok || len(includes) > maxMatrixEntries || len(excludes) > maxMatrixEntries {
		// Too large to expand (GitHub refuses such a matrix anyway):
		// every value written, exclude not applied.
		return writtenValues(keys, lists, includes, nil)
	}
	combos = slices.DeleteFunc(combos, func(c map[string]matrixCell) bool {
		return slices.ContainsFunc(excludes, func(ex map[string]matrixCell) bool { return matches(c, ex) })
	})
	original := len(combos)
	for _, inc := range includes {
		added := false
		for _, c := range combos[:original] {
			if keepsOriginal(c, inc, lists) {
				for k, v := range inc {
					c[k] = v
				}
				added = true
			}
		}
		if !added {
			combos = append(combos, inc)
		}
	}
	// In source order: each variable's list, then the include entries,
	// those some combination has.
	present := map[[2]string]bool{}
	for _, c := range combos {
		for k, cell := range c {
			if cell.scalar {
				present[[2]string{k, cell.value}] = true
			}
		}
	}
	return writtenValues(keys, lists, includes, func(kv [2]string) bool { return present[kv] })
}

// writtenValues is the scalar values of the lists and of the include
// entries that keep allows (nil: all of them; a matrix too large to
// expand), in source order without repeats.
func writtenValues(keys []string, lists map[string][]matrixCell, includes []map[string]matrixCell, keep func(kv [2]string) bool) map[string][]string {
	vals := map[string][]string{}
	seen := map[[2]string]bool{}
	add := func(k string, cell matrixCell) {
		if kv := [2]string{k, cell.value}; cell.scalar && !seen[kv] && (keep == nil || keep(kv)) {
			seen[kv] = true
			vals[k] = append(vals[k], cell.value)
		}
	}
	for _, k := range keys {
		for _, cell := range lists[k] {
			add(k, cell)
		}
	}
	for _, inc := range includes {
		for _, k := range slices.Sorted(maps.Keys(inc)) {
			add(k, inc[k])
		}
	}
	return vals
}

func cellOf(n *yaml.Node) matrixCell {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		return matrixCell{value: n.Value, scalar: true}
	}
	return matrixCell{}
}

// matrixEntries reads an include or exclude list of mappings.
func matrixEntries(v *yaml.Node) []map[string]matrixCell {
	list := deref(v)
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	var out []map[string]matrixCell
	for _, e := range list.Content {
		m := map[string]matrixCell{}
		for _, kv := range pairs(e) {
			m[kv[0].Value] = cellOf(kv[1])
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// matrixProduct is every combination of the lists, or false when there
// are more than maxMatrixCombinations.
func matrixProduct(keys []string, lists map[string][]matrixCell) ([]map[string]matrixCell, bool) {
	if len(keys) == 0 {
		return nil, true
	}
	combos := []map[string]matrixCell{{}}
	for _, k := range keys {
		if len(combos)*len(lists[k]) > maxMatrixCombinations {
			return nil, false
		}
		next := make([]map[string]matrixCell, 0, len(combos)*len(lists[k]))
		for _, c := range combos {
			for _, v := range lists[k] {
				n := make(map[string]matrixCell, len(c)+1)
				for ck, cv := range c {
					n[ck] = cv
				}
				n[k] = v
				next = append(next, n)
			}
		}
		combos = next
	}
	return combos, true
}

// matches reports whether an exclude entry matches a combination: every
// key it names has the same scalar value there.
func matches(c, ex map[string]matrixCell) bool {
	for k, v := range ex {
		if got, ok := c[k]; !ok || !v.scalar || !got.scalar || got.value != v.value {
			return false
		}
	}
	return true
}

// keepsOriginal reports whether include entry inc can be added to
// combination c: it changes none of the matrix's own variables.
func keepsOriginal(c, inc map[string]matrixCell, lists map[string][]matrixCell) bool {
	for k, v := range inc {
		if _, own := lists[k]; !own {
			continue
		}
		if got := c[k]; !v.scalar || !got.scalar || got.value != v.value {
			return false
		}
	}
	return true
}
