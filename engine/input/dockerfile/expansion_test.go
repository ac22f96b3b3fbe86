package dockerfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// doubling is `ARG A=x` then n lines of `<cmd> A=${A}${A}`.
func doubling(prefix, cmd string, n int) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteString(cmd + " A=x\n")
	for range n {
		sb.WriteString(cmd + " A=${A}${A}\n")
	}
	return sb.String()
}

func TestExpansionLimits(t *testing.T) {
	big := strings.Repeat("x", 60<<10) // under the word limit
	refs := func(word string, n int) string { return strings.Repeat(word, n) }
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		// 2^17 bytes at the 17th doubling, on line 18 (19 with a FROM first).
		{"global ARG doubling", doubling("", "ARG", 26) + "FROM alpine\n", 18, "more than the 65536-byte limit for one expanded word"},
		{"stage ARG doubling", doubling("FROM alpine\n", "ARG", 26), 19, "65536-byte limit for one expanded word"},
		{"ENV doubling", doubling("FROM alpine\n", "ENV", 26), 19, "65536-byte limit for one expanded word"},
		{"USER", "FROM alpine\nENV A=" + big + "\nUSER ${A}${A}\n", 3, "65536-byte limit for one expanded word"},
		{"FROM", "ARG A=" + big + "\nFROM ${A}${A}\n", 2, "65536-byte limit for one expanded word"},
		// Reading stops at the limit, before the lexer builds the word.
		{"many references", "FROM alpine\nENV A=" + big + "\nENV B=" + refs("$A", 1000) + "\n", 3, "reads more than 1048576 bytes"},
		{"pattern replacement", "FROM alpine\nARG A=" + big + "\nARG B=${A//?/$A}\n", 3, "reads more than 1048576 bytes"},
		{"ignored values count", "FROM alpine\nARG A=" + big + "\nARG B=" + refs("${A:+y}", 20) + "\n", 3, "reads more than 1048576 bytes"},
		// Every word under its limit, the document over max(1 MiB, 16 × size).
		{"document total", "FROM alpine\nENV A=" + big + "\n" + refs("ENV B=$A\n", 20), 19, "exceed 1048576 bytes"},
		{"RUN scripts count", "FROM alpine\nENV A=" + big + "\n" + refs("RUN echo $A\n", 20), 19, "exceed 1048576 bytes"},
		{"RUN script words", "FROM alpine\nENV A=" + big + "\nRUN echo " + refs("$A ", 20) + "\n", 3, "exceed 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pe := parseErr(t, tc.src)
			if pe.Location.Line != tc.line || !strings.Contains(pe.Message, tc.msg) || !strings.Contains(pe.Message, "variable expansion is too large") {
				t.Errorf("got %q at line %d, want line %d and a message containing %q", pe.Message, pe.Location.Line, tc.line, tc.msg)
			}
		})
	}
}

// TestExpansionWithinLimits: real uses of expansion, and long literal
// words, are untouched by the limits.
func TestExpansionWithinLimits(t *testing.T) {
	literal := strings.Repeat("y", 40<<10)
	src := "ARG BASE=alpine:3\nFROM ${BASE}\n" +
		"ENV PATH=/opt/bin:$PATH LIST=a,b,c\n" +
		"ENV PATH=/usr/local/go/bin:${PATH} SPACED=${LIST//,/:} V=${LIST#a,}\n" +
		// A literal longer than the word limit, through a continuation line.
		"ENV LONG=" + literal + "\\\n" + literal + "\n" +
		"ARG U=1001\nUSER ${U:-0}\nRUN echo $SPACED\n"
	doc := mustParse(t, src, Options{})
	env, _ := get(doc, "stages", 0, "env").(map[string]any)
	want := map[string]any{"PATH": "/usr/local/go/bin:/opt/bin:", "LIST": "a,b,c", "SPACED": "a:b:c", "V": "b,c", "LONG": literal + literal}
	if d := cmp.Diff(want, env); d != "" {
		t.Errorf("env (-want +got):\n%s", d)
	}
	if got := get(doc, "final", "user", "uid"); got != int64(1001) {
		t.Errorf("uid = %v, want 1001", got)
	}
	if got := get(doc, "stages", 0, "runs", 0, "commands", 0, "words"); !cmp.Equal(got, []any{"echo", "a:b:c"}) {
		t.Errorf("run words = %v", got)
	}
}

// TestLexerMayFailCoversEveryFailure: every word of up to four characters
// over the characters that matter to BuildKit's lexer (either escape
// token; a Dockerfile is valid UTF-8 before it is lexed) on which it fails is one lexerMayFail lets through to it,
// so skipping the others loses no expansion error.
func TestLexerMayFailCoversEveryFailure(t *testing.T) {
	alphabet := []string{"a", " ", "\\", "`", "$", "{", "}", ":", "-", "/", "'", "\"", "<", "é"}
	env := newScope(nil)
	failures := 0
	for _, escape := range []rune{'\\', '`'} {
		lex := shell.NewLex(escape)
		var walk func(word string, n int)
		walk = func(word string, n int) {
			if _, err := lex.ProcessWordWithMatches(word, env); err != nil {
				failures++
				if !lexerMayFail(word) {
					t.Errorf("escape %q: the lexer fails on %q (%v) but lexerMayFail says it cannot", escape, word, err)
				}
			}
			if n == 0 {
				return
			}
			for _, c := range alphabet {
				walk(word+c, n-1)
			}
		}
		walk("", 4)
	}
	if failures == 0 {
		t.Fatal("the lexer failed on no word: the alphabet misses what makes it fail")
	}
}
