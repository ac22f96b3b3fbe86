package shell

import (
	"bytes"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Expander gives the static value of shell words: quotes removed,
// backslash escapes resolved, and $NAME, ${NAME} and ${NAME:-default}
// expanded from Env. Parts only run time can know (command substitutions,
// variables Env does not define, other expansions) are kept as written. It
// reuses one printer and is not safe for concurrent use.
type Expander struct {
	// Env looks a variable up; nil expands nothing.
	Env     func(name string) (value string, ok bool)
	printer *syntax.Printer
}

// Word returns the value of w.
func (e *Expander) Word(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		e.part(&b, p, false)
	}
	return b.String()
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
