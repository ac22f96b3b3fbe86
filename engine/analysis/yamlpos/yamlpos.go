// Package yamlpos gives source ranges for YAML nodes parsed by
// go.yaml.in/yaml/v4. The YAML library reports where a node starts (1-based
// line and column, columns in code points); ends are computed here from the
// source text, following the node's style (plain, quoted, literal, folded,
// flow). Workflows use it today; the Kubernetes manifest kind will too.
package yamlpos

import (
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// Range is a source range: 1-based lines and columns (columns in code
// points), ends inclusive.
type Range struct {
	Line, Column, EndLine, EndColumn int
}

// normalized makes a range valid: positive start, end not before start.
func (r Range) normalized() Range {
	if r.Line < 1 {
		r.Line = 1
	}
	if r.Column < 1 {
		r.Column = 1
	}
	if r.EndLine < r.Line {
		r.EndLine = r.Line
	}
	if r.EndColumn < 1 || (r.EndLine == r.Line && r.EndColumn < r.Column) {
		r.EndColumn = r.Column
	}
	return r
}

// Text is the source of a YAML document, split into lines, that node ranges
// are computed from. It is read-only once built and safe for concurrent use.
type Text struct {
	lines []string // without line terminators
}

// New splits src into lines (LF or CRLF).
func New(src []byte) *Text {
	s := string(src)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return &Text{lines: lines}
}

// Line returns 1-based line n, or "" out of range.
func (t *Text) Line(n int) string {
	if n < 1 || n > len(t.lines) {
		return ""
	}
	return t.lines[n-1]
}

// From returns line n from 1-based column col on.
func (t *Text) From(n, col int) string {
	l := t.Line(n)
	return l[byteIndex(l, col-1):]
}

// byteIndex returns the byte offset of the rune with index r (0-based) in s,
// or len(s) when s is shorter.
func byteIndex(s string, r int) int {
	if r <= 0 {
		return 0
	}
	i := 0
	for off := range s {
		if i == r {
			return off
		}
		i++
	}
	return len(s)
}

// RuneLen is the length of s in code points, the unit of YAML columns.
func RuneLen(s string) int { return utf8.RuneCountInString(s) }

// Deref follows aliases to the node they name; nil for a chain of more
// than 64 aliases. Callers are expected to have rejected recursive aliases
// already (actionlint does for workflows); the bound only guards against
// surprises.
func Deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// Range returns the source range of node n as written at its position (an
// alias is the `*name` token, not the anchored node); the zero Range for a
// nil node.
func (t *Text) Range(n *yaml.Node) Range {
	if n == nil {
		return Range{}
	}
	el, ec := t.End(n)
	return Range{Line: n.Line, Column: n.Column, EndLine: el, EndColumn: ec}.normalized()
}

// KeyRange returns the range of a mapping key token.
func (t *Text) KeyRange(k *yaml.Node) Range { return t.Range(k) }

// EntryRange returns the range of a `key: value` entry: from the key to the end
// of the value when the value is a scalar or alias that ends on the key's
// line, else to the end of the key. It is where a finding about the entry
// as a whole points ("the step's uses: line").
func (t *Text) EntryRange(k, v *yaml.Node) Range {
	l := t.Range(k)
	if v != nil && (v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode) &&
		v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !IsEmptyScalar(v) {
		if el, ec := t.End(v); el == k.Line && ec >= l.EndColumn {
			l.EndLine, l.EndColumn = el, ec
		}
	}
	return l
}

// IsEmptyScalar reports whether n is a plain scalar with no text: the
// value of `key:` with nothing after it.
func IsEmptyScalar(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "" && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// End returns the inclusive end (line, column) of node n.
func (t *Text) End(n *yaml.Node) (int, int) {
	switch n.Kind {
	case yaml.AliasNode:
		return n.Line, n.Column + RuneLen(n.Value)
	case yaml.ScalarNode:
		return t.scalarEnd(n)
	case yaml.MappingNode, yaml.SequenceNode:
		closing := '}'
		if n.Kind == yaml.SequenceNode {
			closing = ']'
		}
		if n.Style&yaml.FlowStyle != 0 {
			l, c := t.ContentStart(n.Line, n.Column)
			if len(n.Content) > 0 {
				last := n.Content[len(n.Content)-1]
				l, c = t.End(last)
				if IsEmptyScalar(last) && len(n.Content) > 1 {
					l, c = t.End(n.Content[len(n.Content)-2])
				}
			}
			if el, ec, ok := t.findClosing(l, c, closing); ok {
				return el, ec
			}
			return l, c
		}
		if len(n.Content) == 0 {
			return n.Line, n.Column
		}
		last := n.Content[len(n.Content)-1]
		if IsEmptyScalar(last) && n.Kind == yaml.MappingNode && len(n.Content) >= 2 {
			// `key:` with no value ends at the colon after the key.
			kl, kc := t.End(n.Content[len(n.Content)-2])
			if r, ok := t.runeAt(kl, kc+1); ok && r == ':' {
				return kl, kc + 1
			}
			return kl, kc
		}
		return t.End(last)
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return t.End(n.Content[0])
		}
	}
	return n.Line, n.Column
}

func (t *Text) runeAt(line, col int) (rune, bool) {
	s := t.From(line, col)
	if s == "" {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r, true
}

// findClosing scans forward from just after (line, col) over blanks,
// commas, colons and comments for the closing bracket of a flow collection.
func (t *Text) findClosing(line, col int, closing rune) (int, int, bool) {
	c := col + 1
	for l := line; l <= len(t.lines) && l < line+10000; l++ {
		s := t.From(l, c)
	scan:
		for _, r := range s {
			switch r {
			case closing:
				return l, c, true
			case ' ', '\t', ',', ':':
				c++
			case '#':
				break scan
			default:
				return 0, 0, false
			}
		}
		c = 1
	}
	return 0, 0, false
}

// ContentStart skips an anchor (&a) and a tag (!!str) at (line, col) and
// returns where the node's own content starts.
func (t *Text) ContentStart(line, col int) (int, int) {
	for i := 0; i < 4; i++ {
		s := t.From(line, col)
		if s == "" || (s[0] != '&' && s[0] != '!') {
			return line, col
		}
		// skip the token
		n := 0
		for _, r := range s {
			if r == ' ' || r == '\t' {
				break
			}
			n++
		}
		col += n
		// skip blanks, possibly onto following lines
		for {
			rest := t.From(line, col)
			trimmed := strings.TrimLeft(rest, " \t")
			col += RuneLen(rest) - RuneLen(trimmed)
			if trimmed != "" && trimmed[0] != '#' {
				break
			}
			if line >= len(t.lines) {
				return line, col
			}
			line++
			col = 1
		}
	}
	return line, col
}

func (t *Text) scalarEnd(n *yaml.Node) (int, int) {
	line, col := t.ContentStart(n.Line, n.Column)
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return t.quotedEnd(line, col, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		return t.quotedEnd(line, col, '\'')
	case n.Style&yaml.LiteralStyle != 0:
		return t.literalEnd(n, line, col)
	case n.Style&yaml.FoldedStyle != 0:
		return t.foldedEnd(line, col)
	}
	v := n.Value
	if v == "" {
		if col > 1 {
			return line, col - 1
		}
		return line, col
	}
	rest := t.From(line, col)
	if strings.HasPrefix(rest, v) {
		return line, col + RuneLen(v) - 1
	}
	// A plain scalar folded over several lines: each line contributes its
	// trimmed text, joined by single spaces (or newlines for blank lines).
	rem := v
	l, seg := line, rest
	for l <= len(t.lines) && l < line+10000 {
		seg = strings.TrimRight(cutComment(seg), " \t")
		if l > line {
			seg = strings.TrimLeft(seg, " \t")
		}
		if seg != "" {
			if !strings.HasPrefix(rem, seg) {
				break
			}
			rem = rem[len(seg):]
			if rem == "" {
				ll := t.Line(l)
				return l, RuneLen(strings.TrimRight(cutComment(ll), " \t"))
			}
			rem = strings.TrimLeft(rem, " \n")
		}
		l++
		seg = t.Line(l)
	}
	return line, col + RuneLen(strings.TrimRight(cutComment(rest), " \t")) - 1
}

// cutComment drops a ` #` comment from a line of plain YAML.
func cutComment(s string) string {
	if strings.HasPrefix(s, "#") {
		return ""
	}
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	if i := strings.Index(s, "\t#"); i >= 0 {
		return s[:i]
	}
	return s
}

func (t *Text) quotedEnd(line, col int, q rune) (int, int) {
	c := col + 1
	first := true
	for l := line; l <= len(t.lines); l++ {
		s := t.Line(l)
		if first {
			s = t.From(l, c)
		} else {
			c = 1
		}
		skip := false
		prevQuote := false
		for _, r := range s {
			if prevQuote {
				// a single ' in a single-quoted scalar that is not doubled ends it
				if r == '\'' {
					prevQuote = false
					c++
					continue
				}
				return l, c - 1
			}
			switch {
			case skip:
				skip = false
			case q == '"' && r == '\\':
				skip = true
			case r == q && q == '"':
				return l, c
			case r == q:
				prevQuote = true
			}
			c++
		}
		if prevQuote {
			return l, c - 1
		}
		first = false
	}
	return line, col
}

// literalEnd relies on the literal style keeping one value line per source
// line after the header.
func (t *Text) literalEnd(n *yaml.Node, line, col int) (int, int) {
	v := strings.TrimRight(n.Value, "\n")
	if v == "" {
		return line, col + RuneLen(strings.TrimRight(cutComment(t.From(line, col)), " \t")) - 1
	}
	el := line + strings.Count(v, "\n") + 1
	if el > len(t.lines) {
		el = len(t.lines)
	}
	return el, RuneLen(t.Line(el))
}

// foldedEnd scans the indented block after a `>` header.
func (t *Text) foldedEnd(line, col int) (int, int) {
	endL, endC := line, col+RuneLen(strings.TrimRight(cutComment(t.From(line, col)), " \t"))-1
	indent := -1
	for l := line + 1; l <= len(t.lines); l++ {
		s := t.Line(l)
		trimmed := strings.TrimLeft(s, " ")
		if strings.TrimSpace(s) == "" {
			continue
		}
		ind := len(s) - len(trimmed)
		if indent < 0 {
			indent = ind
		}
		if ind < indent || ind == 0 {
			break
		}
		endL, endC = l, RuneLen(strings.TrimRight(s, " \t"))
	}
	return endL, endC
}
