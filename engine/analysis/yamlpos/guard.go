package yamlpos

import "go.yaml.in/yaml/v4"

// Aliases are capped by the bytes they expand to: a consumer that walks the
// tree expands them, so a few hundred bytes of nested aliases (a "billion
// laughs" document), or one large value aliased thousands of times, would
// otherwise take gigabytes and minutes. A document of n bytes may expand to
// AliasLimit(n) = max(MinAliasBytes, AliasBytesFactor × n) bytes, counting
// each node's value and aliasNodeBytes per node.
const (
	MinAliasBytes    = 1 << 20
	AliasBytesFactor = 16
	aliasNodeBytes   = 8
)

// AliasLimit is the most bytes a document of n bytes may expand to.
func AliasLimit(n int) int { return max(MinAliasBytes, AliasBytesFactor*n) }

// AliasBomb returns the alias at which the document, its aliases expanded
// in document order, passes limit bytes (each node's value plus
// aliasNodeBytes), or nil. Expanded sizes of anchored nodes are memoised
// (and saturate at the limit), so this is linear in the document. A
// recursive alias counts as one node; RecursiveAlias finds those.
func AliasBomb(root *yaml.Node, limit int) *yaml.Node {
	const inProgress = -1
	memo := map[*yaml.Node]int{}
	total := 0
	var culprit *yaml.Node
	var size func(n *yaml.Node) int
	size = func(n *yaml.Node) int {
		if n == nil || culprit != nil {
			return 0
		}
		s := aliasNodeBytes
		if n.Kind == yaml.AliasNode {
			if m, ok := memo[n.Alias]; ok && m != inProgress {
				s = m
			}
			if total = min(total+s, limit+1); total > limit {
				culprit = n
			}
			return s
		}
		if n.Anchor != "" {
			memo[n] = inProgress
		}
		s += len(n.Value)
		total = min(total+s, limit+1)
		for _, c := range n.Content {
			s = min(s+size(c), limit+1)
		}
		if n.Anchor != "" {
			memo[n] = s
		}
		return s
	}
	size(root)
	if culprit == nil && total > limit {
		if culprit = firstAlias(root); culprit == nil {
			culprit = root
		}
	}
	return culprit
}

func firstAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := firstAlias(c); a != nil {
			return a
		}
	}
	return nil
}

// RecursiveAlias returns the first alias (in document order) that names a
// node containing it, such as `a: &x [*x]`, or nil. Such a tree has a cycle
// that a walk following aliases would never leave.
func RecursiveAlias(root *yaml.Node) *yaml.Node {
	open := map[*yaml.Node]bool{}
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || found != nil {
			return
		}
		if n.Kind == yaml.AliasNode {
			if open[n.Alias] {
				found = n
			}
			return
		}
		open[n] = true
		for _, c := range n.Content {
			walk(c)
		}
		delete(open, n)
	}
	walk(root)
	return found
}

// parserProblems are the problems libyaml's parser (as opposed to its
// scanner) reports.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"did not find expected '-' indicator": true, "did not find expected <document start>": true,
	"did not find expected <stream-start>": true, "did not find expected key": true,
	"did not find expected node content": true, "found duplicate %TAG directive": true,
	"found duplicate %YAML directive": true, "found incompatible YAML document": true,
	"found undefined tag handle": true,
}

// ErrorPos converts a YAML error's mark to a 1-based line and column.
// The library reports 0-based marks, adding one to the line of scanner
// errors only; the mark is where the construct being parsed starts when it
// knows one, else where the problem is.
func ErrorPos(e *yaml.ParserError) (int, int) {
	line := e.Line
	if parserProblems[e.Message] {
		line++
	}
	return line, e.Column + 1
}
