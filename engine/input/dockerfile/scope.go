package dockerfile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// scope is the ARG/ENV environment of a stage at one point. ENV is
// inherited from the parent stage; ARG is not (Docker's rule), and a global
// ARG is visible in a stage only when re-declared there. ENV wins over ARG.
//
// A stage shares its parent's ENV table until its first ENV instruction
// (copy on write), so a long FROM chain costs one table, not one per stage.
type scope struct {
	env   *envTable
	owned bool // env belongs to this scope and may be written
	args  map[string]string
}

// envTable is one ENV environment, with its document form built once and
// shared by every stage that inherits the table unchanged.
type envTable struct {
	vars map[string]string
	doc  map[string]any
}

func newScope(parent *scope) *scope {
	s := &scope{args: map[string]string{}}
	if parent != nil {
		s.env = parent.env
	} else {
		s.env, s.owned = &envTable{vars: map[string]string{}}, true
	}
	return s
}

// Get implements shell.EnvGetter.
func (s *scope) Get(key string) (string, bool) {
	if v, ok := s.env.vars[key]; ok {
		return v, true
	}
	v, ok := s.args[key]
	return v, ok
}

// Keys implements shell.EnvGetter.
func (s *scope) Keys() []string {
	keys := slices.Collect(maps.Keys(s.env.vars))
	for k := range s.args {
		if _, dup := s.env.vars[k]; !dup {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func (s *scope) envMap() map[string]any {
	if s.env.doc == nil {
		s.env.doc = make(map[string]any, len(s.env.vars))
		for k, v := range s.env.vars {
			s.env.doc[k] = v
		}
	}
	return s.env.doc
}

// setVar sets an ENV variable, first copying an inherited table (already
// counted against maxEnvEntries when the stage started); a new name is
// counted too.
func (s *scope) setVar(key, value string, b *builder) {
	if _, ok := s.env.vars[key]; !ok {
		b.chargeEnv(1)
	}
	if !s.owned {
		s.env, s.owned = &envTable{vars: maps.Clone(s.env.vars)}, true
	}
	s.env.vars[key] = value
	s.env.doc = nil
}

// declareArgs handles `ARG NAME[=default] ...` inside a stage.
func (s *scope) declareArgs(words []string, b *builder) {
	for _, w := range words {
		name, raw, hasValue := strings.Cut(w, "=")
		if hasValue {
			res, err := b.exp.word(raw, s)
			v := res.Result
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
		res, err := b.exp.word(v.Value, s)
		val := res.Result
		if err != nil {
			val = v.Value
		}
		s.setVar(k.Value, val, b)
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

// unsetNames returns, sorted, the unmatched names raw references plainly
// ($NAME or ${NAME}, not ${NAME:-x}, ${NAME-x}, ${NAME:+x}, ${NAME+x}). It
// reads raw once, so a long word full of distinct names costs its length,
// not its length times the number of names.
func unsetNames(raw string, unmatched map[string]struct{}) []string {
	if len(unmatched) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '$' {
			continue
		}
		name, plain := "", false
		if i+1 < len(raw) && raw[i+1] == '{' {
			// ${NAME}: the name, then the closing brace at once.
			j := i + 2
			for j < len(raw) && isNameChar(raw[j]) {
				j++
			}
			name, plain = raw[i+2:j], j < len(raw) && raw[j] == '}'
		} else {
			// $NAME: the whole run of name characters.
			j := i + 1
			for j < len(raw) && isNameChar(raw[j]) {
				j++
			}
			name, plain = raw[i+1:j], true
		}
		if !plain || name == "" || seen[name] {
			continue
		}
		if _, ok := unmatched[name]; ok {
			seen[name] = true
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func isNameChar(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// Limits on expansion. BuildKit's lexer expands ${A}${A} to twice the value
// of A, so 26 lines of `ARG A=${A}${A}` (430 bytes) would double a value to
// gigabytes; these caps keep the work proportional to the input. A cap that
// is hit makes the file a ParseError at the instruction, naming the limit.
const (
	// maxWordBytes caps the expanded value of one word (an ARG or ENV
	// value, a FROM image, a USER). BuildKit's scanner refuses source lines
	// over 64 KiB, so no word a person wrote needs more; a literal word
	// longer than that (continuation lines) is allowed its own length.
	maxWordBytes = 64 << 10
	// maxWordWork caps the variable bytes the lexer may read while
	// expanding one word, counted as it reads them, so a bomb stops before
	// its memory is spent. A value read under ${A:+x} or ${A#...} counts
	// though little of it is kept, hence the headroom over maxWordBytes; in
	// a word with ${A/pattern/replacement} each value counts as if every
	// byte of it were replaced by everything read so far.
	maxWordWork = 16 * maxWordBytes
	// minDocExpansion and docExpansionFactor cap the expanded bytes of a
	// whole document (words above, and the ARG/ENV values a RUN script
	// reads) at max(1 MiB, 16 × the file's size): generous for real files,
	// linear in the input for hostile ones.
	minDocExpansion    = 1 << 20
	docExpansionFactor = 16
)

// expander expands words with BuildKit's lexer under the limits above. The
// first limit hit is kept in err and ends all later expansion; the builder
// turns it into a ParseError at the current instruction.
type expander struct {
	lex      *shell.Lex
	docLimit int
	docUsed  int
	err      error
}

func newExpander(lex *shell.Lex, srcLen int) *expander {
	return &expander{
		lex:      lex,
		docLimit: max(minDocExpansion, docExpansionFactor*srcLen),
	}
}

// limitError is a limit hit while building the document.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

func (x *expander) fail(format string, args ...any) {
	if x.err == nil {
		x.err = &limitError{msg: fmt.Sprintf(format, args...)}
	}
}

// word expands raw like ProcessWordWithMatches. Once a limit is hit it
// returns that error and does no work.
func (x *expander) word(raw string, env shell.EnvGetter) (shell.ProcessWordResult, error) {
	if x.err != nil {
		return shell.ProcessWordResult{Result: raw}, x.err
	}
	m := &meteredEnv{env: env, raw: len(raw), replaces: hasReplacement(raw)}
	res, err := x.lex.ProcessWordWithMatches(raw, m)
	if m.over {
		x.fail("variable expansion is too large: expanding one word reads more than %d bytes of ARG/ENV values (the limit for one word)", maxWordWork)
		return shell.ProcessWordResult{Result: raw}, x.err
	}
	if n := len(res.Result); n > max(maxWordBytes, len(raw)) {
		x.fail("variable expansion is too large: a word expands to %d bytes, more than the %d-byte limit for one expanded word", n, maxWordBytes)
		return shell.ProcessWordResult{Result: raw}, x.err
	}
	if !x.charge(len(res.Result)) {
		return shell.ProcessWordResult{Result: raw}, x.err
	}
	return res, err
}

// check reports whether BuildKit's lexer can expand raw, without charging
// the result to the document's limit (the words the document keeps are
// expanded, and charged, by word). Reading variables is still metered per
// word; a word over that limit is not an expansion error, so it passes.
func (x *expander) check(raw string, env shell.EnvGetter) error {
	if x.err != nil || !lexerMayFail(raw) {
		return nil
	}
	m := &meteredEnv{env: env, raw: len(raw), replaces: hasReplacement(raw)}
	_, err := x.lex.ProcessWordWithMatches(raw, m)
	if m.over {
		return nil
	}
	return err
}

// lexerMayFail reports whether BuildKit's lexer can fail on raw: only a
// substitution ($), a quote or a heredoc marker (<) can; escapes cannot.
// Most words of a Dockerfile have none, and lexing each was a few percent
// of checking one.
func lexerMayFail(raw string) bool {
	return strings.ContainsAny(raw, "$'\"<")
}

// charge counts n expanded bytes against the document's limit.
func (x *expander) charge(n int) bool {
	x.docUsed += n
	if x.docUsed > x.docLimit {
		x.fail("variable expansion is too large: the expanded ARG/ENV values of this Dockerfile exceed %d bytes (the limit is 16 times the file's size, at least 1 MiB)", x.docLimit)
		return false
	}
	return x.err == nil
}

// scriptEnv is the variable lookup for RUN scripts: the values the script
// reader substitutes count against the document's limit, and after a limit
// is hit no variable has a value, so the reader keeps $NAME as written.
func (x *expander) scriptEnv(s *scope) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if x.err != nil {
			return "", false
		}
		v, ok := s.Get(name)
		if ok && !x.charge(len(v)) {
			return "", false
		}
		return v, ok
	}
}

// meteredEnv counts the bytes of the values the lexer reads for one word
// and stops answering once they exceed maxWordWork.
type meteredEnv struct {
	env      shell.EnvGetter
	raw      int  // length of the word's text
	read     int  // bytes of values read so far, as counted below
	replaces bool // the word has a ${NAME/pattern/replacement}
	over     bool
}

func (m *meteredEnv) Get(key string) (string, bool) {
	if m.over {
		return "", false
	}
	v, ok := m.env.Get(key)
	if !ok {
		return v, ok
	}
	cost := len(v)
	if m.replaces {
		// The replacement was read before the value it applies to, so it
		// is at most the word's text plus the values read so far, and it
		// is inserted at most len(v)+1 times.
		cost = (len(v) + 1) * (m.raw + m.read + 1)
	}
	m.read += cost
	if m.read > maxWordWork {
		m.over = true
		return "", false
	}
	return v, ok
}

// Keys implements shell.EnvGetter.
func (m *meteredEnv) Keys() []string { return m.env.Keys() }

// hasReplacement reports whether raw may hold a ${NAME/pattern/replacement}
// expansion: a "${", a name, then "/". It may say yes for escaped text;
// that only makes the count more cautious.
func hasReplacement(raw string) bool {
	for i := 0; ; {
		j := strings.Index(raw[i:], "${")
		if j < 0 {
			return false
		}
		k := i + j + 2
		for k < len(raw) && raw[k] != '/' && raw[k] != '}' && raw[k] != '$' && raw[k] != ':' {
			k++
		}
		if k < len(raw) && raw[k] == '/' {
			return true
		}
		i = i + j + 2
	}
}
