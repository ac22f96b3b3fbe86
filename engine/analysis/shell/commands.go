package shell

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// MaxDepth bounds how many `sh -c "sh -c ..."` levels Reader descends.
const MaxDepth = 3

// Simple is one simple command of a script, unwrapped.
type Simple struct {
	// Name is the program that runs (see Unwrap).
	Name string
	// Words are the command's words from that program on, with their
	// static values (see Expander).
	Words []string
	// Depth is 0 for a command of the script itself, 1 for one inside
	// its `sh -c` scripts, and so on.
	Depth int
}

// Reader lists the simple commands of scripts, unwrapped, descending into
// the scripts of `sh -c`. It reuses one parser and is not safe for
// concurrent use.
type Reader struct {
	parser *syntax.Parser
	exp    Expander
}

// NewReader returns a Reader for bash scripts (a superset of POSIX sh).
func NewReader() *Reader {
	return &Reader{parser: syntax.NewParser(syntax.Variant(syntax.LangBash))}
}

// Commands parses script and returns its simple commands in source order,
// each followed by the commands of its `sh -c` script. env expands
// variables in words (nil: none). The error is the first parse error, of
// the script or of a nested one; a nested script that does not parse adds
// no commands. A script nested too deeply to parse safely (CheckNesting),
// the script itself or a nested one, is not parsed: the error is then a
// *NestingError and no commands are returned.
func (r *Reader) Commands(script string, env func(name string) (string, bool)) ([]Simple, error) {
	r.exp.Env = env
	cmds, err := r.commands(script, 0)
	if _, deep := err.(*NestingError); deep {
		return nil, err
	}
	return cmds, err
}

func (r *Reader) commands(script string, depth int) ([]Simple, error) {
	if err := CheckNesting(script); err != nil {
		return nil, err
	}
	f, err := r.parser.Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, err
	}
	// words are sliced from the script they were parsed from
	outerSrc := r.exp.Src
	r.exp.Src = script
	defer func() { r.exp.Src = outerSrc }()
	var out []Simple
	var nested error
	syntax.Walk(f, func(n syntax.Node) bool {
		ce, ok := n.(*syntax.CallExpr)
		if !ok || len(ce.Args) == 0 {
			return true
		}
		words := make([]string, len(ce.Args))
		for i, w := range ce.Args {
			words[i] = r.exp.Word(w)
		}
		c, _ := Unwrap(words)
		words = words[c.Index:]
		out = append(out, Simple{Name: c.Name, Words: words, Depth: depth})
		if inner, ok := ScriptArg(words); ok && depth < MaxDepth && !isNesting(nested) {
			cmds, err := r.commands(inner, depth+1)
			if err != nil && (nested == nil || isNesting(err)) {
				nested = err
			}
			out = append(out, cmds...)
		}
		return true
	})
	return out, nested
}

func isNesting(err error) bool {
	_, ok := err.(*NestingError)
	return ok
}
