package workflow

import (
	"strings"

	"go.yaml.in/yaml/v4"
	"mvdan.cc/sh/v3/syntax"

	"github.com/devflow/dwf-policy/engine/analysis/shell"
	"github.com/devflow/dwf-policy/engine/analysis/yamlpos"
	"github.com/devflow/dwf-policy/engine/document"
)

// script is a `run:` script parsed as shell.
//
// GitHub replaces `${{ ... }}` before the shell sees the script. The parser
// gets a copy where every byte of an expression (except newlines) is `_`, so
// byte offsets, lines and columns are the same in both; words are read back
// from the original text.
type script struct {
	src    string
	masked string
	lines  []string // lines of src
	file   *syntax.File
	err    error
	pm     posMap
}

// maskExpressions replaces the bytes of each `${{ ... }}` with '_' (keeping
// newlines). Quoted strings inside an expression may contain "}}".
func maskExpressions(s string) string {
	if !strings.Contains(s, "${{") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] != '$' || b[i+1] != '{' || b[i+2] != '{' {
			continue
		}
		j := i + 3
		inStr := false
		for ; j < len(b); j++ {
			if b[j] == '\'' {
				inStr = !inStr
				continue
			}
			if !inStr && b[j] == '}' && j+1 < len(b) && b[j+1] == '}' {
				j += 2
				break
			}
		}
		if j > len(b) {
			j = len(b)
		}
		for k := i; k < j; k++ {
			if b[k] != '\n' {
				b[k] = '_'
			}
		}
		i = j - 1
	}
	return string(b)
}

// parseScript parses src as bash with p (a new parser when nil; a parser
// may be reused for one script after another). A script nested too deeply
// to parse safely is not parsed: err is then a *shell.NestingError.
func parseScript(p *syntax.Parser, src string, pm posMap) *script {
	sc := &script{src: src, masked: maskExpressions(src), lines: strings.Split(src, "\n"), pm: pm}
	if sc.err = shell.CheckNesting(sc.masked); sc.err != nil {
		return sc
	}
	if p == nil {
		p = newShellParser()
	}
	sc.file, sc.err = p.Parse(strings.NewReader(sc.masked), "")
	return sc
}

func newShellParser() *syntax.Parser { return syntax.NewParser(syntax.Variant(syntax.LangBash)) }

// text returns the original source between two parser positions.
func (sc *script) text(start, end syntax.Pos) string {
	s, e := int(start.Offset()), int(end.Offset())
	if s < 0 || e > len(sc.src) || s > e {
		return ""
	}
	return sc.src[s:e]
}

// loc maps a script range to a file location; ok is false when the `run:`
// value's style does not keep script positions (folded or escaped scalars).
func (sc *script) loc(start, end syntax.Pos) (document.Location, bool) {
	l, c, ok := sc.pm.point(sc.lines, int(start.Line()), int(start.Col()), false)
	if !ok {
		return document.Location{}, false
	}
	el, ec, ok := sc.pm.point(sc.lines, int(end.Line()), int(end.Col()), true)
	if !ok {
		return document.Location{}, false
	}
	return document.Location{Line: l, Column: c, EndLine: el, EndColumn: ec}.Normalized(), true
}

// posMap maps script positions to file positions.
type posMap struct {
	kind     int // 0 unmappable, 1 literal block, 2 single line
	baseLine int // literal: the header line; single: the value's line
	baseCol  int // single: the column of the value's first character
	indents  []int
}

const (
	mapNone = iota
	mapLiteral
	mapSingle
)

// newPosMap works out how the script in scalar node n sits in the file.
func newPosMap(t *text, n *yaml.Node) posMap {
	line, col := t.ContentStart(n.Line, n.Column)
	v := n.Value
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		lines := strings.Split(v, "\n")
		pm := posMap{kind: mapLiteral, baseLine: line, indents: make([]int, len(lines))}
		for i, sl := range lines {
			src := t.Line(line + 1 + i)
			switch {
			case strings.HasSuffix(src, sl) && strings.TrimLeft(src[:len(src)-len(sl)], " ") == "":
				pm.indents[i] = yamlpos.RuneLen(src) - yamlpos.RuneLen(sl)
			case sl == "":
				pm.indents[i] = 0
			default:
				pm.indents[i] = -1
			}
		}
		return pm
	case n.Style&yaml.FoldedStyle != 0 || strings.Contains(v, "\n"):
		return posMap{}
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if strings.HasPrefix(t.From(line, col), `"`+v+`"`) {
			return posMap{kind: mapSingle, baseLine: line, baseCol: col + 1}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		if strings.HasPrefix(t.From(line, col), "'"+v+"'") {
			return posMap{kind: mapSingle, baseLine: line, baseCol: col + 1}
		}
	default:
		if strings.HasPrefix(t.From(line, col), v) {
			return posMap{kind: mapSingle, baseLine: line, baseCol: col}
		}
	}
	return posMap{}
}

// point maps script line l, byte column c (1-based). For an end position,
// c is exclusive and the result is the inclusive column of the last rune.
func (pm posMap) point(lines []string, l, c int, isEnd bool) (int, int, bool) {
	if pm.kind == mapNone || l < 1 || l > len(lines) || c < 1 {
		return 0, 0, false
	}
	sl := lines[l-1]
	if c-1 > len(sl) {
		c = len(sl) + 1
	}
	rc := yamlpos.RuneLen(sl[:c-1])
	if !isEnd {
		rc++
	}
	switch pm.kind {
	case mapLiteral:
		if l-1 >= len(pm.indents) || pm.indents[l-1] < 0 {
			return 0, 0, false
		}
		return pm.baseLine + l, pm.indents[l-1] + rc, true
	case mapSingle:
		if l != 1 {
			return 0, 0, false
		}
		return pm.baseLine, pm.baseCol + rc - 1, true
	}
	return 0, 0, false
}

// word is a shell word with its static value when it has one.
type word struct {
	raw      string // as written, GitHub expressions intact
	value    string // the value after quote removal and expansion, when resolved
	resolved bool
	expr     bool // contains a GitHub ${{ }} expression
	start    syntax.Pos
	end      syntax.Pos
}

// lookup returns a variable's value for word expansion.
type lookup func(name string) (value string, resolved, expr bool, ok bool)

func (sc *script) word(w *syntax.Word, vars lookup) word {
	out := word{raw: sc.text(w.Pos(), w.End()), start: w.Pos(), end: w.End()}
	out.expr = strings.Contains(out.raw, "${{")
	if out.expr {
		out.value = out.raw
		return out
	}
	var b strings.Builder
	ok := true
	for _, p := range w.Parts {
		if !sc.part(&b, p, vars, false, &out) {
			ok = false
			break
		}
	}
	if ok {
		out.value, out.resolved = b.String(), true
	} else {
		out.value = out.raw
	}
	return out
}

func (sc *script) part(b *strings.Builder, p syntax.WordPart, vars lookup, inDouble bool, w *word) bool {
	switch p := p.(type) {
	case *syntax.Lit:
		b.WriteString(shell.Unescape(p.Value, inDouble))
		return true
	case *syntax.SglQuoted:
		if p.Dollar && strings.Contains(p.Value, `\`) {
			return false
		}
		b.WriteString(p.Value)
		return true
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			if !sc.part(b, q, vars, true, w) {
				return false
			}
		}
		return true
	case *syntax.ParamExp:
		if p.Param == nil || p.Excl || p.Length || p.Width || p.Index != nil || p.Slice != nil || p.Repl != nil || p.Names != 0 || len(p.Modifiers) > 0 || p.Flags != nil || p.NestedParam != nil {
			return false
		}
		val, resolved, expr, set := "", false, false, false
		if vars != nil {
			val, resolved, expr, set = vars(p.Param.Value)
		}
		if expr {
			w.expr = true
		}
		if p.Exp != nil {
			switch p.Exp.Op {
			case syntax.DefaultUnset, syntax.DefaultUnsetOrNull:
				if !set || (p.Exp.Op == syntax.DefaultUnsetOrNull && resolved && val == "") {
					if p.Exp.Word == nil {
						return true
					}
					d := sc.word(p.Exp.Word, vars)
					if !d.resolved {
						return false
					}
					b.WriteString(d.value)
					return true
				}
			default:
				return false
			}
		}
		if !set || !resolved {
			return false
		}
		b.WriteString(val)
		return true
	}
	return false
}
