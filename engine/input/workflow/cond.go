package workflow

import (
	"strings"

	"github.com/rhysd/actionlint"
)

// alwaysFalse reports whether an `if:` condition can never be true: a
// constant that GitHub treats as false (false, 0, an empty string, null), or logic over
// constants that folds to one. Status functions and contexts are unknown.
func alwaysFalse(cond string) bool {
	c := strings.TrimSpace(cond)
	switch {
	case strings.HasPrefix(c, "${{") && strings.HasSuffix(c, "}}") && strings.Count(c, "${{") == 1:
		c = strings.TrimSpace(c[3 : len(c)-2])
	case strings.Contains(c, "${{"):
		// text around an expression makes a non-empty string: truthy
		return false
	}
	if c == "" {
		return false
	}
	node, err := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(c + "}}"))
	if err != nil || node == nil {
		return false
	}
	v := fold(node, 0)
	return v.known && !v.truthy()
}

type constVal struct {
	known bool
	kind  int // 0 null, 1 bool, 2 number, 3 string
	b     bool
	n     float64
	s     string
}

func (v constVal) truthy() bool {
	switch v.kind {
	case 1:
		return v.b
	case 2:
		return v.n != 0
	case 3:
		return v.s != ""
	}
	return false
}

func fold(n actionlint.ExprNode, depth int) constVal {
	if depth > 100 {
		return constVal{}
	}
	switch n := n.(type) {
	case *actionlint.NullNode:
		return constVal{known: true}
	case *actionlint.BoolNode:
		return constVal{known: true, kind: 1, b: n.Value}
	case *actionlint.IntNode:
		return constVal{known: true, kind: 2, n: float64(n.Value)}
	case *actionlint.FloatNode:
		return constVal{known: true, kind: 2, n: n.Value}
	case *actionlint.StringNode:
		return constVal{known: true, kind: 3, s: n.Value}
	case *actionlint.NotOpNode:
		v := fold(n.Operand, depth+1)
		if !v.known {
			return v
		}
		return constVal{known: true, kind: 1, b: !v.truthy()}
	case *actionlint.LogicalOpNode:
		l, r := fold(n.Left, depth+1), fold(n.Right, depth+1)
		if n.Kind == actionlint.LogicalOpNodeKindAnd {
			switch {
			case l.known && !l.truthy():
				return l
			case l.known:
				return r
			case r.known && !r.truthy():
				// x && <falsy>: falsy whichever x is
				return constVal{known: true, kind: 1, b: false}
			}
			return constVal{}
		}
		switch {
		case l.known && l.truthy():
			return l
		case l.known:
			return r
		}
		return constVal{}
	case *actionlint.CompareOpNode:
		l, r := fold(n.Left, depth+1), fold(n.Right, depth+1)
		if !l.known || !r.known || l.kind != r.kind {
			return constVal{}
		}
		var c int
		switch l.kind {
		case 0:
			c = 0
		case 1:
			c = boolCmp(l.b, r.b)
		case 2:
			c = floatCmp(l.n, r.n)
		case 3:
			c = strings.Compare(strings.ToLower(l.s), strings.ToLower(r.s))
		}
		var out bool
		switch n.Kind {
		case actionlint.CompareOpNodeKindEq:
			out = c == 0
		case actionlint.CompareOpNodeKindNotEq:
			out = c != 0
		case actionlint.CompareOpNodeKindLess:
			out = c < 0
		case actionlint.CompareOpNodeKindLessEq:
			out = c <= 0
		case actionlint.CompareOpNodeKindGreater:
			out = c > 0
		case actionlint.CompareOpNodeKindGreaterEq:
			out = c >= 0
		default:
			return constVal{}
		}
		return constVal{known: true, kind: 1, b: out}
	}
	return constVal{}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func floatCmp(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
