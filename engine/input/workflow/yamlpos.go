package workflow

import (
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/devflow/dwf-policy/engine/document"
)

// text gives source ranges for YAML nodes. The YAML library reports where a
// node starts (1-based line and column, columns in code points); ends are
// computed here from the source, following the node's style.
type text struct {
	lines []string // without line terminators
}

func newText(src []byte) *text {
	s := string(src)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return &text{lines: lines}
}

// line returns 1-based line n, or "" out of range.
func (t *text) line(n int) string {
	if n < 1 || n > len(t.lines) {
		return ""
	}
	return t.lines[n-1]
}

// from returns line n from 1-based column col on.
func (t *text) from(n, col int) string {
	l := t.line(n)
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

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// deref follows aliases to the node they name. actionlint has already
// rejected recursive aliases; the bound only guards against surprises.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// loc returns the source range of node n as written at its position (an
// alias is the `*name` token, not the anchored node).
func (t *text) loc(n *yaml.Node) document.Location {
	if n == nil {
		return document.Location{}
	}
	el, ec := t.end(n)
	return document.Location{Line: n.Line, Column: n.Column, EndLine: el, EndColumn: ec}.Normalized()
}

// keyLoc returns the range of a mapping key token.
func (t *text) keyLoc(k *yaml.Node) document.Location { return t.loc(k) }

// entryLoc returns the range of a `key: value` entry: from the key to the end
// of the value when the value is a scalar or alias that ends on the key's
// line, else to the end of the key. It is where a finding about the entry
// as a whole points ("the step's uses: line").
func (t *text) entryLoc(k, v *yaml.Node) document.Location {
	l := t.loc(k)
	if v != nil && (v.Kind == yaml.ScalarNode || v.Kind == yaml.AliasNode) &&
		v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !isEmptyScalar(v) {
		if el, ec := t.end(v); el == k.Line && ec >= l.EndColumn {
			l.EndLine, l.EndColumn = el, ec
		}
	}
	return l
}

func isEmptyScalar(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "" && n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0
}

// end returns the inclusive end (line, column) of node n.
func (t *text) end(n *yaml.Node) (int, int) {
	switch n.Kind {
	case yaml.AliasNode:
		return n.Line, n.Column + runeLen(n.Value)
	case yaml.ScalarNode:
		return t.scalarEnd(n)
	case yaml.MappingNode, yaml.SequenceNode:
		closing := '}'
		if n.Kind == yaml.SequenceNode {
			closing = ']'
		}
		if n.Style&yaml.FlowStyle != 0 {
			l, c := t.contentStart(n.Line, n.Column)
			if len(n.Content) > 0 {
				last := n.Content[len(n.Content)-1]
				l, c = t.end(last)
				if isEmptyScalar(last) && len(n.Content) > 1 {
					l, c = t.end(n.Content[len(n.Content)-2])
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
		if isEmptyScalar(last) && n.Kind == yaml.MappingNode && len(n.Content) >= 2 {
			// `key:` with no value ends at the colon after the key.
			kl, kc := t.end(n.Content[len(n.Content)-2])
			if r, ok := t.runeAt(kl, kc+1); ok && r == ':' {
				return kl, kc + 1
			}
			return kl, kc
		}
		return t.end(last)
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return t.end(n.Content[0])
		}
	}
	return n.Line, n.Column
}

func (t *text) runeAt(line, col int) (rune, bool) {
	s := t.from(line, col)
	if s == "" {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r, true
}

// findClosing scans forward from just after (line, col) over blanks,
// commas, colons and comments for the closing bracket of a flow collection.
func (t *text) findClosing(line, col int, closing rune) (int, int, bool) {
	c := col + 1
	for l := line; l <= len(t.lines) && l < line+10000; l++ {
		s := t.from(l, c)
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

// contentStart skips an anchor (&a) and a tag (!!str) at (line, col) and
// returns where the node's own content starts.
func (t *text) contentStart(line, col int) (int, int) {
	for i := 0; i < 4; i++ {
		s := t.from(line, col)
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
			rest := t.from(line, col)
			trimmed := strings.TrimLeft(rest, " \t")
			col += runeLen(rest) - runeLen(trimmed)
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

func (t *text) scalarEnd(n *yaml.Node) (int, int) {
	line, col := t.contentStart(n.Line, n.Column)
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
	rest := t.from(line, col)
	if strings.HasPrefix(rest, v) {
		return line, col + runeLen(v) - 1
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
				ll := t.line(l)
				return l, runeLen(strings.TrimRight(cutComment(ll), " \t"))
			}
			rem = strings.TrimLeft(rem, " \n")
		}
		l++
		seg = t.line(l)
	}
	return line, col + runeLen(strings.TrimRight(cutComment(rest), " \t")) - 1
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

func (t *text) quotedEnd(line, col int, q rune) (int, int) {
	c := col + 1
	first := true
	for l := line; l <= len(t.lines); l++ {
		s := t.line(l)
		if first {
			s = t.from(l, c)
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
func (t *text) literalEnd(n *yaml.Node, line, col int) (int, int) {
	v := strings.TrimRight(n.Value, "\n")
	if v == "" {
		return line, col + runeLen(strings.TrimRight(cutComment(t.from(line, col)), " \t")) - 1
	}
	el := line + strings.Count(v, "\n") + 1
	if el > len(t.lines) {
		el = len(t.lines)
	}
	return el, runeLen(t.line(el))
}

// foldedEnd scans the indented block after a `>` header.
func (t *text) foldedEnd(line, col int) (int, int) {
	endL, endC := line, col+runeLen(strings.TrimRight(cutComment(t.from(line, col)), " \t"))-1
	indent := -1
	for l := line + 1; l <= len(t.lines); l++ {
		s := t.line(l)
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
		endL, endC = l, runeLen(strings.TrimRight(s, " \t"))
	}
	return endL, endC
}
