package dockerfile

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// scope is the ARG/ENV environment of a stage at one point. ENV is
// inherited from the parent stage; ARG is not (Docker's rule), and a global
// ARG is visible in a stage only when re-declared there. ENV wins over ARG.
type scope struct {
	env  map[string]string
	args map[string]string
}

func newScope(parent *scope) *scope {
	s := &scope{env: map[string]string{}, args: map[string]string{}}
	if parent != nil {
		maps.Copy(s.env, parent.env)
	}
	return s
}

// Get implements shell.EnvGetter.
func (s *scope) Get(key string) (string, bool) {
	if v, ok := s.env[key]; ok {
		return v, true
	}
	v, ok := s.args[key]
	return v, ok
}

// Keys implements shell.EnvGetter.
func (s *scope) Keys() []string {
	keys := slices.Collect(maps.Keys(s.env))
	for k := range s.args {
		if _, dup := s.env[k]; !dup {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (s *scope) envMap() map[string]any {
	out := make(map[string]any, len(s.env))
	for k, v := range s.env {
		out[k] = v
	}
	return out
}

// declareArgs handles `ARG NAME[=default] ...` inside a stage.
func (s *scope) declareArgs(words []string, b *builder) {
	for _, w := range words {
		name, raw, hasValue := strings.Cut(w, "=")
		if hasValue {
			v, _, err := b.lex.ProcessWord(raw, s)
			if err != nil {
				v = raw
			}
			s.args[name] = v
			continue
		}
		if g, ok := b.globals[name]; ok && g != nil {
			s.args[name] = *g
		}
	}
}

// setEnv handles ENV, whose node chain is key, value, separator triples.
func (s *scope) setEnv(n *parser.Node, b *builder) {
	for k := n.Next; k != nil && k.Next != nil; {
		v := k.Next
		val, _, err := b.lex.ProcessWord(v.Value, s)
		if err != nil {
			val = v.Value
		}
		s.env[k.Value] = val
		if v.Next == nil {
			break
		}
		k = v.Next.Next
	}
}

// usesUnset reports whether raw references, without a default, a variable
// that has no value. BuildKit's lexer lists every unmatched name, also
// those used as ${NAME:-default}; those still give a well-defined value.
func usesUnset(raw string, unmatched map[string]struct{}) bool {
	return len(unsetNames(raw, unmatched)) > 0
}

func unsetNames(raw string, unmatched map[string]struct{}) []string {
	var out []string
	for name := range unmatched {
		if plainReference(raw, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// plainReference reports whether raw contains $NAME or ${NAME} (not
// ${NAME:-x}, ${NAME-x}, ${NAME:+x}, ${NAME+x}).
func plainReference(raw, name string) bool {
	if strings.Contains(raw, "${"+name+"}") {
		return true
	}
	for i := 0; ; {
		j := strings.Index(raw[i:], "$"+name)
		if j < 0 {
			return false
		}
		end := i + j + 1 + len(name)
		if end >= len(raw) || !isNameChar(raw[end]) {
			return true
		}
		i = end
	}
}

func isNameChar(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
