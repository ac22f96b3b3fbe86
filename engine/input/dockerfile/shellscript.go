package dockerfile

import (
	"bytes"
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// maxShellDepth bounds `sh -c "sh -c ..."` recursion.
const maxShellDepth = 3

// shells are programs whose -c argument is itself a script to read.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true, "ksh": true}

// wrappers run their arguments as the real command.
var wrappers = map[string]bool{"sudo": true, "env": true, "exec": true, "command": true, "nohup": true, "time": true, "nice": true}

// shellCommand is one simple command of a RUN script.
type shellCommand struct {
	name  string
	words []string
}

// scriptReader extracts simple commands from shell scripts. It is not safe
// for concurrent use; one builder owns one.
type scriptReader struct {
	parser  *syntax.Parser
	printer *syntax.Printer
	env     func(string) (string, bool)
}

func newScriptReader() *scriptReader {
	return &scriptReader{
		parser:  syntax.NewParser(syntax.Variant(syntax.LangBash)),
		printer: syntax.NewPrinter(),
	}
}

// commands parses script and returns its simple commands, descending into
// `sh -c` scripts. The error is the shell parser's, for parse_error.
func (s *scriptReader) commands(script string, depth int) ([]shellCommand, error) {
	f, err := s.parser.Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, err
	}
	var out []shellCommand
	var nested error
	syntax.Walk(f, func(n syntax.Node) bool {
		ce, ok := n.(*syntax.CallExpr)
		if !ok || len(ce.Args) == 0 {
			return true
		}
		words := make([]string, len(ce.Args))
		for i, w := range ce.Args {
			words[i] = s.word(w)
		}
		words = unwrap(words)
		if len(words) == 0 {
			return true
		}
		name := path.Base(words[0])
		out = append(out, shellCommand{name: name, words: words})
		if inner, ok := shellScriptArg(name, words); ok && depth < maxShellDepth {
			cmds, err := s.commands(inner, depth+1)
			if err != nil && nested == nil {
				nested = err
			}
			out = append(out, cmds...)
		}
		return true
	})
	return out, nested
}

// shellScriptArg returns the script of `sh -c SCRIPT` (also -ec, -xc, ...).
func shellScriptArg(name string, words []string) (string, bool) {
	if !shells[name] {
		return "", false
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || strings.HasPrefix(w, "--") {
			return "", false
		}
		if strings.Contains(w, "c") && i+1 < len(words) {
			return words[i+1], true
		}
	}
	return "", false
}

// unwrap drops sudo/env/exec-style prefixes and env's VAR=value words.
func unwrap(words []string) []string {
	for len(words) > 0 && wrappers[path.Base(words[0])] {
		words = words[1:]
		for len(words) > 0 && (strings.HasPrefix(words[0], "-") || strings.Contains(words[0], "=")) {
			words = words[1:]
		}
	}
	return words
}

// word returns the value of a shell word: quotes removed and variables that
// ARG/ENV define expanded; parts that only run time can know (command
// substitution, unknown variables) are kept as written.
func (s *scriptReader) word(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		s.part(&b, p, false)
	}
	return b.String()
}

func (s *scriptReader) part(b *strings.Builder, p syntax.WordPart, quoted bool) {
	switch p := p.(type) {
	case *syntax.Lit:
		if quoted {
			b.WriteString(p.Value)
		} else {
			b.WriteString(unescape(p.Value))
		}
	case *syntax.SglQuoted:
		b.WriteString(p.Value)
	case *syntax.DblQuoted:
		for _, q := range p.Parts {
			s.part(b, q, true)
		}
	case *syntax.ParamExp:
		if v, ok := s.param(p); ok {
			b.WriteString(v)
			return
		}
		b.WriteString(s.raw(p))
	default:
		b.WriteString(s.raw(p))
	}
}

// param expands $NAME, ${NAME} and ${NAME:-default} from ARG/ENV.
func (s *scriptReader) param(p *syntax.ParamExp) (string, bool) {
	if s.env == nil || p.Param == nil || p.Excl || p.Length || p.Width || p.Index != nil || p.Slice != nil || p.Repl != nil || p.Names != 0 {
		return "", false
	}
	v, set := s.env(p.Param.Value)
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
		return s.word(p.Exp.Word), true
	}
	return "", false
}

func (s *scriptReader) raw(n syntax.Node) string {
	var buf bytes.Buffer
	if err := s.printer.Print(&buf, n); err != nil {
		return ""
	}
	return buf.String()
}

// unescape removes backslash escapes from an unquoted literal.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	escaped := false
	for _, r := range s {
		if r == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}
