package dockerfile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// plainReferenceSlow is the definition unsetNames implements in one pass:
// raw contains ${NAME}, or $NAME not followed by another name character.
func plainReferenceSlow(raw, name string) bool {
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

func TestUnsetNames(t *testing.T) {
	names := []string{"A", "AB", "B", "U", "_x1", "1"}
	unmatched := map[string]struct{}{}
	for _, n := range names {
		unmatched[n] = struct{}{}
	}
	for _, raw := range []string{
		"", "$A", "${A}", "$AB", "${AB}x", "$ABC", "${A:-x}", "${A-x}${B:+y}", "${A+x}$B",
		"$$A", "\\$U", "${B:-$A}", "x$_x1:y", "$1", "${1}", "$", "${", "${A", "$ {A}", "a${AB}b$A$AB",
		"${A/x/y}", "$A$A$A", "${_x1}${_x1}",
	} {
		var want []string
		for _, n := range []string{"1", "A", "AB", "B", "U", "_x1"} {
			if plainReferenceSlow(raw, n) {
				want = append(want, n)
			}
		}
		if got := unsetNames(raw, unmatched); !cmp.Equal(got, want) {
			t.Errorf("unsetNames(%q) = %v, want %v", raw, got, want)
		}
	}
}

// TestUnsetNamesLinear: a USER word as long as a line may be, full of
// distinct unset names, is read once (it took seconds when every name was
// searched for in the whole word).
func TestUnsetNamesLinear(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("FROM alpine\nUSER ")
	for i := 0; sb.Len() < maxLineBytes-16; i++ {
		fmt.Fprintf(&sb, "$v%d", i)
	}
	sb.WriteString("\n")
	doc := mustParse(t, sb.String(), Options{})
	reason, _ := get(doc, "final", "user", "reason").(string)
	if !strings.HasPrefix(reason, "uses a variable with no value: v0, v1, v10, ") {
		t.Errorf("reason = %.80q...", reason)
	}
}

// BenchmarkUnsetNames measures the 64 KiB USER line of distinct unset
// names (seconds when it was quadratic; a timed test would be flaky on a
// loaded machine, so the figure lives here).
func BenchmarkUnsetNames(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("FROM alpine\nUSER ")
	for i := 0; sb.Len() < maxLineBytes-16; i++ {
		fmt.Fprintf(&sb, "$v%d", i)
	}
	sb.WriteString("\n")
	src := []byte(sb.String())
	for b.Loop() {
		if _, err := Parse("Dockerfile", src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
