package shell

import (
	"fmt"
	"strings"
)

// Limits CheckNesting enforces before a script is parsed.
//
// mvdan.cc/sh parses by recursive descent: every nested `$(`, `$((`, `(`,
// `{ ...; }`, `${`, quote, `if`/`while`/`case` and every `&&`, `||`, `|`,
// `time` or `f()` in a chain takes another level of Go stack. A few hundred
// kilobytes of `$((` exhaust the 1 GB stack limit, and a Go stack overflow
// kills the process: recover cannot catch it. So scripts are measured first
// with a linear scan and refused, unparsed, beyond these limits.
const (
	// MaxNesting bounds how deeply constructs nest: `$(`, `$((` (two
	// levels), `(`, `{ ...; }`, `${`, `$[`, backquotes, double quotes,
	// `if`, `while`, `until`, `for`, `select` and `case`. Real scripts stay
	// below 10.
	MaxNesting = 100
	// MaxChain bounds the parser's recursion as a whole: the nesting plus
	// the commands chained into one statement with `&&`, `||`, `|`, `|&`,
	// `!`, `time`, `coproc` or `name()` at every open level.
	MaxChain = 5000
)

// NestingError is CheckNesting's answer for a script beyond MaxNesting or
// MaxChain.
type NestingError struct {
	// Line is the script's 1-based line where the limit was passed.
	Line int
	// Chain is true when MaxChain was passed, false for MaxNesting.
	Chain bool
}

func (e *NestingError) Error() string {
	if e.Chain {
		return fmt.Sprintf("the shell script chains more than %d commands with &&, || or | (line %d of the script); scripts beyond this limit are not parsed", MaxChain, e.Line)
	}
	return fmt.Sprintf("the shell script nests $( ), $(( )), ( ), { }, quotes or compound commands more than %d levels deep (line %d of the script); scripts nested deeper than %d levels are not parsed", MaxNesting, e.Line, MaxNesting)
}

// CheckNesting measures how deeply script nests, in one pass over its
// bytes, and returns a *NestingError when it is beyond MaxNesting or
// MaxChain; a script it accepts can be parsed without exhausting the stack.
//
// The scan follows the shell's lexical rules where they decide what is code:
// backslash escapes, single, double and $'...' quotes, comments, here-
// documents (quoted ones are text, others expand), backquotes (read again
// after one level of backslashes is removed), arithmetic (where << is a
// shift), and keywords and `{`, `}` only where a command starts. Where it
// might disagree with the parser it over-counts: a comment counts every
// opener in it.
func CheckNesting(script string) error {
	var n nestScan
	if !n.scan(script, 0, 0, nil, false) {
		return n.err
	}
	return nil
}

type frameKind uint8

const (
	fParen   frameKind = iota // ( $( <( >(, and the outer level of $(( ((
	fArith                    // the inner level of $(( ((
	fBlock                    // { ... } at a command start
	fParam                    // ${
	fBrack                    // $[ and [ inside it
	fDquote                   // "
	fIf                       // if ... fi
	fLoop                     // while, until, for, select ... done
	fCase                     // case ... esac
	fHeredoc                  // the body of an unquoted here-document
)

// case states
const (
	caseSubject = iota // before the word after `case`
	caseIn             // before `in`
	casePattern        // in a pattern, before `)`
	caseBody           // in an item's commands
)

type frame struct {
	kind  frameKind
	arith bool // inside arithmetic: no comments, keywords or here-documents
	chain int  // commands chained at this level in the current statement
	state uint8
}

type heredoc struct {
	delim  string
	quoted bool
	tabs   bool
}

type nestScan struct {
	err error
	max int // the deepest estimate seen, for tests
}

func (n *nestScan) note(depth int) {
	if depth > n.max {
		n.max = depth
	}
}

// where is a place in a text being scanned: where a nested text (a
// here-document body, the inside of backquotes) sits in its parent, nil
// for the script itself. Lines are counted only when a limit is passed.
type where struct {
	text   string
	off    int
	parent *where
}

func (w *where) line() int {
	l := 1
	for ; w != nil; w = w.parent {
		l += strings.Count(w.text[:min(w.off, len(w.text))], "\n")
	}
	return l
}

// fail records the error at offset off of text, found in parent, and
// returns false.
func (n *nestScan) fail(text string, off int, parent *where, chain bool) bool {
	n.err = &NestingError{Line: (&where{text, off, parent}).line(), Chain: chain}
	return false
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// wordBreak reports whether c ends a word (and so a word starts after it).
func wordBreak(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ';', '&', '|', '(', ')', '<', '>', '`':
		return true
	}
	return false
}

// scanner is the state of one scan.
type scanner struct {
	n      *nestScan
	text   string
	base   int // levels open around text
	chains int // commands chained at every open level, around text included
	outer  int // the part of chains chained at the level of text itself
	at     *where
	stack  []frame
}

func (s *scanner) top() *frame {
	if len(s.stack) == 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

func (s *scanner) push(k frameKind, arith bool, i int) bool {
	s.stack = append(s.stack, frame{kind: k, arith: arith})
	s.n.note(s.base + len(s.stack) + s.chains)
	if s.base+len(s.stack) > MaxNesting {
		return s.n.fail(s.text, i, s.at, false)
	}
	if s.base+len(s.stack)+s.chains > MaxChain {
		return s.n.fail(s.text, i, s.at, true)
	}
	return true
}

func (s *scanner) pop() {
	s.chains -= s.stack[len(s.stack)-1].chain
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *scanner) addChain(i int) bool {
	if t := s.top(); t != nil {
		t.chain++
	} else {
		s.outer++
	}
	s.chains++
	s.n.note(s.base + len(s.stack) + s.chains)
	if s.base+len(s.stack)+s.chains > MaxChain {
		return s.n.fail(s.text, i, s.at, true)
	}
	return true
}

func (s *scanner) endStatement() {
	if t := s.top(); t != nil {
		s.chains -= t.chain
		t.chain = 0
		return
	}
	s.chains -= s.outer
	s.outer = 0
}

// inArith reports whether the innermost level is arithmetic.
func (s *scanner) inArith() bool {
	t := s.top()
	return t != nil && t.arith
}

// dollar handles a `$` at i and returns how many bytes it used, or -1 when
// a limit is passed.
func (s *scanner) dollar(i int) int {
	text := s.text
	if i+1 >= len(text) {
		return 1
	}
	switch text[i+1] {
	case '(':
		if i+2 < len(text) && text[i+2] == '(' {
			if !s.push(fParen, false, i) || !s.push(fArith, true, i) {
				return -1
			}
			return 3
		}
		if !s.push(fParen, false, i) {
			return -1
		}
		return 2
	case '{':
		if !s.push(fParam, false, i) {
			return -1
		}
		return 2
	case '[':
		if !s.push(fBrack, true, i) {
			return -1
		}
		return 2
	}
	return 1
}

// scan reads text (a script, a here-document body when hdoc is true, or
// the inside of backquotes), base levels deep already, chain being the
// commands chained around it; at is where text sits in the script. It returns false when a limit is passed.
func (n *nestScan) scan(text string, base, chain int, at *where, hdoc bool) bool {
	s := &scanner{n: n, text: text, base: base, chains: chain, at: at}
	if hdoc {
		s.stack = append(s.stack, frame{kind: fHeredoc})
	}
	cmdStart := true
	afterOp := false // the last token was &&, || or |: a newline continues the statement
	var pending []heredoc
	for i := 0; i < len(text); {
		c := text[i]
		t := s.top()
		// Double quotes and here-document bodies: only escapes and
		// expansions matter.
		if t != nil && (t.kind == fDquote || t.kind == fHeredoc) {
			switch c {
			case '\\':
				i += 2
			case '"':
				if t.kind == fDquote {
					s.pop()
				}
				i++
			case '$':
				k := s.dollar(i)
				if k < 0 {
					return false
				}
				i += k
				cmdStart = true
			case '`':
				k, ok := n.backquote(text, i, base+len(s.stack), s.chains, at)
				if !ok {
					return false
				}
				i = k
			default:
				i++
			}
			continue
		}
		inParam := t != nil && t.kind == fParam
		wordStart := i == 0 || wordBreak(text[i-1])
		switch {
		case c == '\\':
			i += 2
			cmdStart, afterOp = false, false
			continue
		case c == '\'':
			// a literal string; $'...' takes backslash escapes
			esc := i > 0 && text[i-1] == '$'
			j := i + 1
			for j < len(text) && text[j] != '\'' {
				if esc && text[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
			cmdStart, afterOp = false, false
			continue
		case c == '"':
			if !s.push(fDquote, false, i) {
				return false
			}
			i++
			cmdStart, afterOp = false, false
			continue
		case c == '`':
			k, ok := n.backquote(text, i, base+len(s.stack), s.chains, at)
			if !ok {
				return false
			}
			i = k
			cmdStart, afterOp = false, false
			continue
		case c == '$':
			k := s.dollar(i)
			if k < 0 {
				return false
			}
			i += k
			cmdStart, afterOp = k == 2 && text[i-1] == '(', false
			continue
		case c == '#' && wordStart && !inParam && !s.inArith():
			// A comment. In case the parser reads part of it as code
			// after all, every opener in it counts as a level.
			opens := 0
			j := i
			for ; j < len(text) && text[j] != '\n'; j++ {
				switch text[j] {
				case '(', '{', '[', '"', '`':
					opens++
					n.note(base + len(s.stack) + opens + s.chains)
					if base+len(s.stack)+opens > MaxNesting {
						return n.fail(text, j, at, false)
					}
				}
			}
			i = j
			continue
		case c == '\n':
			i++
			if len(pending) > 0 {
				k, ok := n.heredocs(text, i, pending, base+len(s.stack), s.chains, at)
				if !ok {
					return false
				}
				i, pending = k, pending[:0]
			}
			if !afterOp && !inParam && !s.inArith() {
				s.endStatement()
				cmdStart = true
			}
			continue
		case isBlank(c):
			i++
			continue
		}
		if inParam || (t != nil && t.kind == fBrack) {
			switch c {
			case '}':
				if t.kind == fParam {
					s.pop()
				}
			case ']':
				if t.kind == fBrack {
					s.pop()
				}
			case '[':
				if t.kind == fBrack && !s.push(fBrack, true, i) {
					return false
				}
			case '(':
				if !s.push(fParen, s.inArith(), i) {
					return false
				}
			case ')':
				if t.kind == fParen {
					s.pop()
				}
			}
			i++
			continue
		}
		switch c {
		case '(':
			afterOp = false
			if t != nil && t.kind == fCase && t.state == casePattern {
				i++ // the optional ( before a case pattern
				continue
			}
			arith := s.inArith()
			if !arith {
				// name() declares a function: one more level of recursion
				j := i + 1
				for j < len(text) && isBlank(text[j]) {
					j++
				}
				if j < len(text) && text[j] == ')' && i > 0 && !wordBreak(text[i-1]) {
					if !s.addChain(i) {
						return false
					}
					i = j + 1
					cmdStart = true
					continue
				}
				if cmdStart && i+1 < len(text) && text[i+1] == '(' {
					// (( arithmetic command ))
					if !s.push(fParen, false, i) || !s.push(fArith, true, i) {
						return false
					}
					i += 2
					continue
				}
			}
			if !s.push(fParen, arith, i) {
				return false
			}
			i++
			cmdStart = true
			continue
		case ')':
			afterOp = false
			switch {
			case t != nil && t.kind == fCase && t.state == casePattern:
				t.state = caseBody
			case t != nil && (t.kind == fParen || t.kind == fArith):
				s.pop()
			}
			i++
			cmdStart = true
			continue
		case ';':
			afterOp = false
			i++
			if t != nil && t.kind == fCase && i < len(text) && (text[i] == ';' || text[i] == '&' || text[i] == '|') {
				t.state = casePattern
				i++
				if i < len(text) && text[i] == '&' {
					i++
				}
			}
			s.endStatement()
			cmdStart = true
			continue
		case '&':
			switch {
			case i+1 < len(text) && text[i+1] == '&':
				if !s.addChain(i) {
					return false
				}
				i += 2
				afterOp = true
			case i+1 < len(text) && text[i+1] == '>':
				i += 2 // &> redirects
				cmdStart, afterOp = false, false
				continue
			default:
				s.endStatement()
				i++
				afterOp = false
			}
			cmdStart = true
			continue
		case '|':
			if s.inArith() {
				i++
				continue
			}
			if !s.addChain(i) {
				return false
			}
			i++
			if i < len(text) && (text[i] == '|' || text[i] == '&') {
				i++
			}
			cmdStart, afterOp = true, true
			continue
		case '<', '>':
			afterOp = false
			if !s.inArith() {
				if i+1 < len(text) && text[i+1] == '(' {
					if !s.push(fParen, false, i) {
						return false
					}
					i += 2
					cmdStart = true
					continue
				}
				if c == '<' && strings.HasPrefix(text[i:], "<<") && !strings.HasPrefix(text[i:], "<<<") {
					h, k := heredocWord(text, i+2)
					if h != nil {
						pending = append(pending, *h)
					}
					i = k
					cmdStart = false
					continue
				}
			}
			i++
			for i < len(text) && (text[i] == '&' || text[i] == '>' || text[i] == '|' || text[i] == '<') {
				i++ // >&, <&, >>, >|, <>
			}
			continue
		}
		afterOp = false
		// a word, up to anything the loop above handles
		j := i
		for j < len(text) && !wordBreak(text[j]) && text[j] != '\'' && text[j] != '"' && text[j] != '$' && text[j] != '\\' && text[j] != '#' {
			j++
		}
		if j == i {
			i++ // '#' inside a word
			cmdStart = false
			continue
		}
		w := text[i:j]
		whole := j >= len(text) || wordBreak(text[j])
		switch {
		case s.inArith():
			cmdStart = false
		case t != nil && t.kind == fCase && t.state == caseSubject:
			t.state = caseIn
			cmdStart = false
		case t != nil && t.kind == fCase && (t.state == caseIn || t.state == casePattern):
			if whole && w == "in" && t.state == caseIn {
				t.state = casePattern
			} else if whole && w == "esac" {
				s.pop()
			}
			cmdStart = false
		case cmdStart && whole:
			start, ok := s.keyword(w, i)
			if !ok {
				return false
			}
			cmdStart = start
		default:
			cmdStart = false
		}
		i = j
	}
	return true
}

// keyword handles word w at a command start; start is whether the next
// word is at a command start too.
func (s *scanner) keyword(w string, i int) (start, ok bool) {
	closeTo := func(k frameKind) {
		for len(s.stack) > 0 {
			switch t := s.top(); t.kind {
			case k:
				s.pop()
				return
			case fIf, fLoop, fCase, fBlock:
				s.pop()
			default:
				return // never close past a bracket or a quote
			}
		}
	}
	switch w {
	case "if":
		return true, s.push(fIf, false, i)
	case "while", "until":
		return true, s.push(fLoop, false, i)
	case "for", "select":
		return false, s.push(fLoop, false, i)
	case "case":
		return false, s.push(fCase, false, i)
	case "fi":
		closeTo(fIf)
	case "done":
		closeTo(fLoop)
	case "esac":
		closeTo(fCase)
	case "{":
		return true, s.push(fBlock, false, i)
	case "}":
		if t := s.top(); t != nil && t.kind == fBlock {
			s.pop()
		}
	case "then", "do", "else", "elif":
		return true, true
	case "!", "time", "coproc", "function":
		return true, s.addChain(i)
	}
	return false, true
}

// heredocWord reads the delimiter of a here-document whose `<<` ends at i
// and returns the index after it.
func heredocWord(text string, i int) (*heredoc, int) {
	h := &heredoc{}
	if i < len(text) && text[i] == '-' {
		h.tabs = true
		i++
	}
	for i < len(text) && isBlank(text[i]) {
		i++
	}
	var b strings.Builder
	for i < len(text) && !wordBreak(text[i]) {
		switch c := text[i]; c {
		case '\'', '"':
			h.quoted = true
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				return nil, len(text)
			}
			b.WriteString(text[i+1 : i+1+j])
			i += j + 2
		case '\\':
			h.quoted = true
			if i+1 < len(text) {
				b.WriteByte(text[i+1])
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	if b.Len() == 0 && !h.quoted {
		return nil, i
	}
	h.delim = b.String()
	return h, min(i, len(text))
}

// heredocs skips the bodies of the pending here-documents, which start at
// i, scanning those that expand; it returns the index after the last one.
func (n *nestScan) heredocs(text string, i int, pending []heredoc, base, chain int, at *where) (int, bool) {
	for _, h := range pending {
		start, end, next := i, len(text), len(text)
		for j := i; j < len(text); {
			lineEnd := len(text)
			if k := strings.IndexByte(text[j:], '\n'); k >= 0 {
				lineEnd = j + k
			}
			line := text[j:lineEnd]
			if h.tabs {
				line = strings.TrimLeft(line, "\t")
			}
			if line == h.delim {
				end, next = j, min(lineEnd+1, len(text))
				break
			}
			j = lineEnd + 1
		}
		if !h.quoted {
			if !n.scan(text[start:end], base, chain, &where{text, start, at}, true) {
				return 0, false
			}
		}
		i = next
	}
	return i, true
}

// backquote scans the command substitution whose backquote is at text[i]
// (its script is what is inside with one level of backslashes removed) and
// returns the index after the closing backquote.
func (n *nestScan) backquote(text string, i, base, chain int, at *where) (int, bool) {
	if base+1 > MaxNesting {
		return 0, n.fail(text, i, at, false)
	}
	var b strings.Builder
	j := i + 1
	for ; j < len(text) && text[j] != '`'; j++ {
		if text[j] == '\\' && j+1 < len(text) {
			switch text[j+1] {
			case '\\', '`', '$':
				j++
			default:
				b.WriteByte('\\')
				j++
			}
		}
		b.WriteByte(text[j])
	}
	if !n.scan(b.String(), base+1, chain, &where{text, i, at}, false) {
		return 0, false
	}
	return j + 1, true
}
