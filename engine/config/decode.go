package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// maxAliasNodes bounds how many nodes following YAML aliases may visit, so
// an alias bomb cannot make decoding explode.
const maxAliasNodes = 10000

// checker walks a YAML node tree against a spec and collects every problem
// with its position.
type checker struct {
	name     string // the file, as named in messages
	problems []error
	budget   int
}

func (c *checker) errorf(n *yaml.Node, format string, args ...any) {
	c.problems = append(c.problems, fmt.Errorf("%s:%d:%d: %s", c.name, n.Line, n.Column, fmt.Sprintf(format, args...)))
}

// resolve follows aliases.
func (c *checker) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		c.budget--
		n = n.Alias
	}
	return n
}

// check validates n, found under the dotted key path where, against s.
func (c *checker) check(n *yaml.Node, s *spec, where string) {
	if c.budget <= 0 {
		return
	}
	c.budget--
	n = c.resolve(n)
	switch s.typ {
	case typeInt:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			c.errorf(n, "%s must be an integer, not %s", where, describe(n))
			return
		}
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v > 1<<31-1 {
			c.errorf(n, "%s: %q is not a valid number", where, excerpt(n.Value))
			return
		}
		if s.minimum != nil && v < int64(*s.minimum) {
			c.errorf(n, "%s must be at least %d", where, *s.minimum)
		}
	case typeString, typeGlob:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!map" || n.Tag == "!!seq" {
			c.errorf(n, "%s must be a string, not %s", where, describe(n))
			return
		}
		if len(s.enum) > 0 {
			if !slices.Contains(s.enum, n.Value) {
				c.errorf(n, "%s: %q is not one of %s%s", where, excerpt(n.Value), strings.Join(s.enum, ", "), suggest(n.Value, s.enum))
			}
			return
		}
		if n.Tag != "!!str" {
			// 1001, true, 1.5: YAML reads these as other types; a string
			// field wants them quoted, so a typo cannot change the type.
			c.errorf(n, "%s must be a string, not %s (quote it: %q)", where, describe(n), excerpt(n.Value))
			return
		}
		if s.nonEmpty && strings.TrimSpace(n.Value) == "" {
			c.errorf(n, "%s must not be empty", where)
			return
		}
		if s.pattern != nil && !s.pattern.MatchString(n.Value) {
			c.errorf(n, "%s: %q is not %s", where, excerpt(n.Value), s.patternWhat)
			return
		}
		if s.typ == typeGlob {
			if err := validGlob(n.Value); err != nil {
				c.errorf(n, "%s: %v", where, err)
			}
		}
	case typeBool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			c.errorf(n, "%s must be true or false, not %s", where, describe(n))
		}
	case typeDuration:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			c.errorf(n, "%s must be a duration like 7d, 36h or 90m, not %s", where, describe(n))
			return
		}
		if _, err := parseDuration(n.Value); err != nil {
			c.errorf(n, "%s: %q is not a duration like 7d, 36h or 90m", where, excerpt(n.Value))
		}
	case typeDate:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
			c.errorf(n, "%s must be a date YYYY-MM-DD, not %s", where, describe(n))
			return
		}
		if _, err := parseDate(n.Value); err != nil {
			c.errorf(n, "%s: %q is not a date YYYY-MM-DD", where, excerpt(n.Value))
		}
	case typeList:
		if n.Kind != yaml.SequenceNode {
			c.errorf(n, "%s must be a list, not %s", where, describe(n))
			return
		}
		if s.nonEmpty && len(n.Content) == 0 {
			c.errorf(n, "%s must not be empty", where)
		}
		if s.maxItems > 0 && len(n.Content) > s.maxItems {
			c.errorf(n, "%s has %d entries, at most %d are allowed", where, len(n.Content), s.maxItems)
			return
		}
		for i, item := range n.Content {
			c.check(item, s.items, fmt.Sprintf("%s[%d]", where, i))
		}
	case typeObject:
		if n.Kind != yaml.MappingNode {
			c.errorf(n, "%s must be a mapping of %s, not %s", orTop(where), strings.Join(keys(s), ", "), describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := c.resolve(n.Content[i]), n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				c.errorf(k, "%s: keys must be plain names", orTop(where))
				continue
			}
			f, ok := lookup(s, k.Value)
			if !ok {
				c.errorf(k, "unknown key %q%s%s", excerpt(k.Value), in(where), suggestKey(k.Value, keys(s)))
				continue
			}
			if seen[k.Value] {
				c.errorf(k, "duplicate key %q%s", excerpt(k.Value), in(where))
				continue
			}
			seen[k.Value] = true
			c.check(v, f.spec, join(where, k.Value))
		}
		for _, f := range s.fields {
			if f.required && !seen[f.key] {
				c.errorf(n, "%s lacks the required key %q", orTop(where), f.key)
			}
		}
	case typeMap:
		if n.Kind != yaml.MappingNode {
			example := "3"
			if len(s.values.enum) > 0 {
				example = s.values.enum[0]
			}
			c.errorf(n, "%s must be a mapping like `%s: %s`, not %s", where, s.keyExample, example, describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := c.resolve(n.Content[i]), n.Content[i+1]
			if k.Kind != yaml.ScalarNode || !s.keyPattern.MatchString(k.Value) {
				c.errorf(k, "%s: %q is not %s like %s", where, excerpt(k.Value), s.keyWhat, s.keyExample)
				continue
			}
			if seen[k.Value] {
				c.errorf(k, "duplicate key %q in %s", excerpt(k.Value), where)
				continue
			}
			seen[k.Value] = true
			c.check(v, s.values, join(where, k.Value))
		}
	}
}

func lookup(s *spec, key string) (field, bool) {
	for _, f := range s.fields {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

func keys(s *spec) []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.key
	}
	return out
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

func in(where string) string {
	if where == "" {
		return ""
	}
	return " in " + where
}

func orTop(where string) string {
	if where == "" {
		return "the configuration"
	}
	return where
}

// describe names a node's type for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!null":
		return "empty"
	case "!!int":
		return "the number " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!timestamp":
		return "the date " + n.Value
	}
	return fmt.Sprintf("the string %q", excerpt(n.Value))
}

// suggestKey names the closest valid key, or all of them when none is
// close: the message always shows what would have been accepted.
func suggestKey(got string, valid []string) string {
	if s := suggest(got, valid); s != "" {
		return s
	}
	return "; valid keys: " + strings.Join(valid, ", ")
}

// suggest returns ` (did you mean "x"?)` for the closest candidate within a
// small edit distance, or "".
func suggest(got string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 {
		return ""
	}
	prefix := len(got) >= 3 && (strings.HasPrefix(strings.ToLower(best), strings.ToLower(got)) || strings.HasPrefix(strings.ToLower(got), strings.ToLower(best)))
	if bestDist > max(2, len(got)*2/5) && !prefix {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// durationPattern is a number of days, hours or minutes.
var durationPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]{1,6})(d|h|m)$`) })

// parseDuration parses 7d, 36h or 90m.
func parseDuration(s string) (time.Duration, error) {
	m := durationPattern().FindStringSubmatch(s)
	if m == nil {
		return 0, errors.New("not a duration")
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[2]]
	return time.Duration(n) * unit, nil
}

// parseDate parses YYYY-MM-DD as a UTC day.
func parseDate(s string) (time.Time, error) {
	if len(s) != len("2006-01-02") {
		return time.Time{}, errors.New("not YYYY-MM-DD")
	}
	return time.Parse(time.DateOnly, s)
}

// maxExcerpt bounds how much of a value an error message quotes: a
// configuration may be a symbolic link to a credentials file, and a
// message must not print the secret.
const maxExcerpt = 24

// excerpt is at most maxExcerpt characters of s, marked when cut.
func excerpt(s string) string {
	r := []rune(s)
	if len(r) <= maxExcerpt {
		return s
	}
	return string(r[:maxExcerpt]) + "…"
}
