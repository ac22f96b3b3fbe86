// Package ghfilter reads GitHub Actions filter patterns: the globs of
// `on.<event>.branches`, `tags`, `paths` and their `-ignore` forms, as the
// "Filter pattern cheat sheet" of GitHub's workflow syntax documents them.
// A pattern becomes an anchored RE2 regular expression (the syntax Go's
// regexp and OPA's regex.match share), so that policies can decide with
// the same semantics GitHub applies:
//
//   - `*` matches zero or more characters other than `/`;
//   - `**` matches zero or more of any character, and `**/` also matches
//     no directory at all (`**/README.md` matches `README.md`);
//   - `?` makes the preceding character optional, `+` repeats it;
//   - `[...]` matches one character listed or in a range;
//   - `\` escapes the next character;
//   - `!` first negates the pattern (Negated); elsewhere it is literal.
//
// Patterns of one filter are read in order and the last that matches a
// name decides (Match), so a negation after a positive pattern excludes
// and a positive pattern after it re-includes.
package ghfilter

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Pattern is one filter pattern, compiled.
type Pattern struct {
	// Raw is the pattern as written.
	Raw string
	// Negated is set when the pattern starts with `!`.
	Negated bool
	// Regex is the anchored regular expression of the pattern without its
	// `!`.
	Regex string
	re    *regexp.Regexp
}

// Compile reads one filter pattern. An unclosed `[` or a trailing `\` is
// an error: GitHub cannot match it either.
func Compile(raw string) (*Pattern, error) {
	p := &Pattern{Raw: raw}
	body := raw
	if strings.HasPrefix(body, "!") {
		p.Negated, body = true, body[1:]
	}
	expr, err := translate(body)
	if err != nil {
		return nil, fmt.Errorf("filter pattern %q: %w", raw, err)
	}
	p.Regex = expr
	if p.re, err = regexp.Compile(expr); err != nil {
		return nil, fmt.Errorf("filter pattern %q: %w", raw, err)
	}
	return p, nil
}

// Matches reports whether name matches the pattern, ignoring its `!`.
func (p *Pattern) Matches(name string) bool { return p.re.MatchString(name) }

// Match applies a filter's patterns in order to name: the last pattern
// that matches decides, included when it is positive. A name no pattern
// matches is not included.
func Match(patterns []*Pattern, name string) bool {
	in := false
	for _, p := range patterns {
		if p.Matches(name) {
			in = !p.Negated
		}
	}
	return in
}

// translate turns a pattern (without its leading `!`) into an anchored
// regular expression. Atoms are kept apart so that `?` and `+` apply to
// the preceding character or bracket expression only.
func translate(pattern string) (string, error) {
	s := []rune(pattern)
	var atoms []string
	// quantifiable reports whether the last atom is one character or a
	// bracket expression, which `?` and `+` may follow.
	quantifiable := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("trailing `\\`")
			}
			i++
			atoms = append(atoms, regexp.QuoteMeta(string(s[i])))
			quantifiable = true
		case c == '*' && i+1 < len(s) && s[i+1] == '*':
			i++
			if i+1 < len(s) && s[i+1] == '/' {
				i++
				atoms = append(atoms, `(?:.*/)?`)
			} else {
				atoms = append(atoms, `.*`)
			}
			quantifiable = false
		case c == '*':
			atoms = append(atoms, `[^/]*`)
			quantifiable = false
		case (c == '?' || c == '+') && quantifiable:
			atoms[len(atoms)-1] += string(c)
			quantifiable = false
		case c == '[':
			end := slices.Index(s[i+1:], ']')
			if end < 0 {
				return "", fmt.Errorf("`[` at offset %d is not closed", i)
			}
			class := s[i+1 : i+1+end]
			if len(class) == 0 {
				return "", fmt.Errorf("empty `[]` at offset %d", i)
			}
			atoms = append(atoms, "["+quoteClass(class)+"]")
			quantifiable = true
			i += end + 1
		default:
			atoms = append(atoms, regexp.QuoteMeta(string(c)))
			quantifiable = true
		}
	}
	return "^" + strings.Join(atoms, "") + "$", nil
}

// quoteClass escapes the characters of a bracket expression, keeping `-`
// between two characters as a range.
func quoteClass(class []rune) string {
	var b strings.Builder
	for i, c := range class {
		switch {
		case c == '-' && i > 0 && i+1 < len(class):
			b.WriteRune('-')
		case c < 0x80 && !unicode.IsLetter(c) && !unicode.IsDigit(c):
			b.WriteRune('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
