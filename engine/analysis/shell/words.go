package shell

import (
	"bytes"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Expander gives the static value of shell words: quotes removed,
// backslash escapes resolved, and $NAME, ${NAME} and ${NAME:-default}
// expanded from Env. Parts only run time can know (command substitutions,
// variables Env does not define, other expansions) are kept as written:
// sliced from Src when it is set, printed otherwise. It is not safe for
// concurrent use.
type Expander struct {
	// Env looks a variable up; nil expands nothing.
	Env func(name string) (value string, ok bool)
	// Src is the source the words were parsed from. Parts kept as written
	// are then substrings of it, in constant time and memory; printing
	// them instead costs time and memory in proportion to their size and
	// nesting, for every word that contains them.
	Src     string
	printer *syntax.Printer
}

// Word returns the value of w.
func (e *Expander) Word(w *syntax.Word) string {
	if len(w.Parts) == 1 {
		// the common case, and a word that is a single $(...) shares its
		// text with Src instead of copying it
		if v, ok := e.single(w.Parts[0], false); ok {
			return v
		}
	}
	var b strings.Builder
	for _, p := range w.Parts {
		e.part(&b, p, false)
	}
	return b.String()
}

// single returns the value of part p without copying it, when it can.
func (e *Expander) single(p syntax.WordPart, quoted bool) (string, bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		if !strings.Contains(p.Value, `\`) {
			return p.Value, true
		}
	case *syntax.SglQuoted:
		return p.Value, true
	case *syntax.DblQuoted:
		if len(p.Parts) == 0 {
			return "", true
		}
		if len(p.Parts) == 1 {
			return e.single(p.Parts[0], true)
		}
	case *syntax.ParamExp:
		if v, ok := e.param(p); ok {
			return v, true
		}
		return e.raw(p), true
	default:
		return e.raw(p), true
	}
	return "", false
}

func (e *Expander) part(b *strings.Builder, p syntax.WordPart, quoted bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		b.WriteString(Unescape(p.Value, quoted))
	case *syntax.SglQuoted:
		b.WriteString(p.Value)
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			e.part(b, q, true)
		}
	case *syntax.ParamExp:
		if v, ok := e.param(p); ok {
			b.WriteString(v)
			return
		}
		b.WriteString(e.raw(p))
	default:
		b.WriteString(e.raw(p))
	}
}

// param expands $NAME, ${NAME} and ${NAME:-default}.
func (e *Expander) param(p *syntax.ParamExp) (string, bool) {
	if e.Env == nil || p.Param == nil || p.Excl || p.Length || p.Width || p.Index != nil || p.Slice != nil || p.Repl != nil || p.Names != 0 {
		return "", false
	}
	v, set := e.Env(p.Param.Value)
	if p.Exp == nil {
		return v, set
	}
	switch p.Exp.Op {
	case syntax.DefaultUnset, syntax.DefaultUnsetOrNull:
		if set && (v != "" || p.Exp.Op == syntax.DefaultUnset) {
			return v, true
		}
		if p.Exp.Word == nil {
			return "", true
		}
		return e.Word(p.Exp.Word), true
	}
	return "", false
}

func (e *Expander) raw(n syntax.Node) string {
	if e.Src != "" {
		start, end := n.Pos(), n.End()
		if start.IsValid() && end.IsValid() && start.Offset() <= end.Offset() && int(end.Offset()) <= len(e.Src) {
			return e.Src[start.Offset():end.Offset()]
		}
	}
	if e.printer == nil {
		e.printer = syntax.NewPrinter()
	}
	var buf bytes.Buffer
	if err := e.printer.Print(&buf, n); err != nil {
		return ""
	}
	return buf.String()
}

// Unescape removes backslash escapes from the text of a literal the way the
// shell does: unquoted, a backslash escapes any character; inside double
// quotes (inDouble) only $, `, ", \ and a newline.
func Unescape(s string, inDouble bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		n := s[i+1]
		switch {
		case n == '\n':
			i++
		case !inDouble:
			b.WriteByte(n)
			i++
		case n == '"' || n == '\\' || n == '$' || n == '`':
			b.WriteByte(n)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
