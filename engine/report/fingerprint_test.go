package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hashStrings(src []byte) []string {
	hs := lineHashes(src)
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// The expected values come from running github/codeql-action's
// src/fingerprints.ts hash function under Node (reading each input from a
// file as the upload does), not from this implementation.
func TestLineHashesMatchCodeQLAction(t *testing.T) {
	t.Parallel()
	const eofLine = "c129715d7a2bc9a3:1" // the line after the last newline
	dockerfile := []string{"9ed445cdadfb1a76:1", "1eff9306b11e8f7e:1", "43f93dba3974e70:1", eofLine}
	repeated := make([]string, 0, 41)
	for i := 1; i <= 16; i++ {
		// "x=1\n" (spaces skipped) repeated: the first 16 lines see the
		// same 100 characters, and the counter tells them apart.
		repeated = append(repeated, fmt.Sprintf("ca3e9a077b09da0c:%d", i))
	}
	repeated = append(repeated,
		"ca3e9a0840880743:1", "ca54a9d1435105e7:1", "b2752db013aa1e4b:1", "f3bc67e5c8f5746f:1",
		"1039ec579bf6ec53:1", "e57a44f13c7829f7:1", "8c767300d0ac915b:1", "84eb4565c255467f:1",
		"cadbb45d3da52d63:1", "8728994d05e4ea07:1", "7db464e703d6e06b:1", "dd0a461db1db348f:1",
		"3c96ca6349d3ca73:1", "1605415358c84617:1", "5fe364f01c4a0b7b:1", "b44d61cacd983e9f:1",
		"c221a97fbe83c383:1", "a956f3a4ec133e27:1", "1298cf636ae7128b:1", "4ce7a831d15d64af:1",
		"b86f844783761893:1", "b06211268476d237:1", "87c133c3324ef59b:1", "8e00d41f0ebba6bf:1",
		eofLine)
	// Node reads files in 64 KiB chunks; these put a character across the
	// boundary at the start of line 2.
	chunk := strings.Repeat("a", 65530) + "\n"

	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty", "", []string{eofLine}},
		{"one line without newline", "FROM alpine", []string{"a97ddebd4069ee58:1"}},
		{"one line", "FROM alpine\n", []string{"ba24c708eb419fae:1", eofLine}},
		{"LF", "FROM alpine:3.19\nRUN apk add --no-cache curl\nUSER root\n", dockerfile},
		{"CRLF", "FROM alpine:3.19\r\nRUN apk add --no-cache curl\r\nUSER root\r\n", dockerfile},
		{"CR", "FROM alpine:3.19\rRUN apk add --no-cache curl\rUSER root\r", dockerfile},
		{"spaces and tabs", "  FROM   alpine:3.19\n\tRUN apk  add --no-cache\tcurl \nUSER\troot\n", dockerfile},
		{"same text, different windows", "same\nsame\nother\nsame\n",
			[]string{"a39e2603a7aa5ae7:1", "4d20da5ecbd5a22b:1", "fddda6bcd01cd5bf:1", "930af01a65e2307f:1", eofLine}},
		{"identical windows", strings.Repeat("x = 1\n", 40), repeated},
		{"blank lines", "\n\n\n",
			[]string{"4e5d562094661a0d:1", "5b5d4caf73a13177:1", "3c5bef55b72b93c9:1", eofLine}},
		{"lines of spaces", "a\n   \n\t\nb\n",
			[]string{"356f58d66fa44792:1", "b8d96ae672d1b223:1", "bf4c4d48992e2ca5:1", "ade70578248be16f:1", eofLine}},
		{"CR space LF is two line ends", "a\r \nb\n",
			[]string{"818c3a85b988abe4:1", "bf4c4d48992e2ca5:1", "ade70578248be16f:1", eofLine}},
		{"non-ASCII and surrogate pairs", "caf\u00e9 \u2603\n\U0001F600 smile\n",
			[]string{"4dcfdc78d8004de4:1", "20ab56323c5c814c:1", eofLine}},
		{"line longer than the window", strings.Repeat("x", 250) + "\nshort\n",
			[]string{"52b56201ffb58620:1", "8bf8ff854171d875:1", eofLine}},
		{"byte order mark is a character", "\uFEFFFROM x\n", []string{"33cdb7230e069a64:1", eofLine}},
		{"invalid: truncated sequence is one U+FFFD", "a\xe2\x82A\n", []string{"9d796578dabc1874:1", eofLine}},
		{"invalid: lone bytes", "\xff\xfe\n", []string{"b94e3e336a503d4f:1", eofLine}},
		{"invalid: truncated at EOF", "ok\n\xf0\x9f\x98", []string{"b3b9c5ab06bb20c8:1", "8989dec65f08d110:1"}},
		{"invalid: encoded surrogate", "\xed\xa0\x80\n", []string{"66bb4c1842ee204c:1", eofLine}},
		{"invalid: overlong", "\xc0\xaf\xe0\x80\xaf\n", []string{"ab1fefeaa0d4f68a:1", eofLine}},
		{"invalid: above U+10FFFF", "\xf4\x90\x80\x80\n", []string{"9bd9eb9afcad3445:1", eofLine}},
		{"large, multibyte", strings.Repeat("\u00e9", 40000) + "\n", []string{"5c536290ae5e535c:1", eofLine}},
		{"large, invalid across chunks", chunk + "bbbb\xe2\x82A\n",
			[]string{"871f6af4d0d4dd7c:1", "5cb44a938eabf5b:1", eofLine}},
		{"large, surrogate pair across chunks", chunk + "bbb\U0001F600\n",
			[]string{"871f6af4d0d4dd7c:1", "e91e4b42444285b8:1", eofLine}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, hashStrings([]byte(tt.src))); diff != "" {
				t.Errorf("line hashes (-want +got):\n%s", diff)
			}
		})
	}
}

// A line's hash covers the 100 non-blank characters from the start of the
// line (newlines included). So it survives edits above the line, and edits
// below it that are more than 100 characters away, but not edits inside its
// window, even on other lines.
func TestLineHashStability(t *testing.T) {
	t.Parallel()
	filler := func(n int) string { // n lines of 10 characters
		return strings.Repeat("#-filler-\n", n)
	}
	const target = "USER root\n" // 9 characters: the space does not count
	base := filler(3) + target + filler(20)
	const baseLine = 4
	// The window of line 4 is its 9 characters, 9 filler lines and the
	// first character of the 10th filler line below it.
	tests := []struct {
		name     string
		src      string
		line     int
		wantSame bool
	}{
		{"lines inserted above", filler(50) + target + filler(20), 51, true},
		{"lines removed above", target + filler(20), 1, true},
		{"lines changed above", "# other\n# more\n" + filler(7) + target + filler(20), 10, true},
		{"indentation changed", filler(3) + "\t USER   root  \n" + filler(20), baseLine, true},
		{"CRLF line ends", strings.ReplaceAll(base, "\n", "\r\n"), baseLine, true},
		{"change at the 101st character", filler(3) + target + filler(9) + "#!filler-\n" + filler(10), baseLine, true},
		{"lines inserted far below", filler(3) + target + filler(15) + "RUN id\n" + filler(5), baseLine, true},
		{"change at the 100th character", filler(3) + target + filler(9) + "!-filler-\n" + filler(10), baseLine, false},
		{"change a few lines below", filler(3) + target + filler(2) + "# changed\n" + filler(17), baseLine, false},
		{"line inserted right below", filler(3) + target + "RUN id\n" + filler(20), baseLine, false},
		{"the line itself changed", filler(3) + "USER app\n" + filler(20), baseLine, false},
	}
	want := hashStrings([]byte(base))[baseLine-1]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hs := hashStrings([]byte(tt.src))
			if tt.line > len(hs) {
				t.Fatalf("only %d lines", len(hs))
			}
			if got := hs[tt.line-1]; (got == want) != tt.wantSame {
				t.Errorf("hash of line %d = %s, base line %d = %s; want same: %v", tt.line, got, baseLine, want, tt.wantSame)
			}
		})
	}
}

func TestLineHashesIgnoreLineEndingsAndBlanks(t *testing.T) {
	t.Parallel()
	lf := []byte("a: 1\nb:\n  - c\n  - d\n\n")
	variants := map[string][]byte{
		"CRLF":         bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n")),
		"CR":           bytes.ReplaceAll(lf, []byte("\n"), []byte("\r")),
		"tabs":         bytes.ReplaceAll(lf, []byte("  "), []byte("\t")),
		"more spaces":  bytes.ReplaceAll(lf, []byte(" "), []byte("   ")),
		"no blanks":    bytes.ReplaceAll(lf, []byte(" "), nil),
		"trailing tab": bytes.ReplaceAll(lf, []byte("\n"), []byte("\t\n")),
	}
	want := hashStrings(lf)
	for name, src := range variants {
		if diff := cmp.Diff(want, hashStrings(src)); diff != "" {
			t.Errorf("%s vs LF (-LF +%s):\n%s", name, name, diff)
		}
	}
}

func TestDecodeUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []rune
	}{
		{"", nil},
		{"aé☃😀", []rune("aé☃😀")},
		{"\xe2\x82A", []rune{0xFFFD, 'A'}},               // maximal subpart: one replacement
		{"\xe2\x82", []rune{0xFFFD}},                     // truncated at the end
		{"\xc0\xaf", []rune{0xFFFD, 0xFFFD}},             // C0 never starts a sequence
		{"\xe0\x80\xaf", []rune{0xFFFD, 0xFFFD, 0xFFFD}}, // overlong: E0 needs A0..BF next
		{"\xed\xa0\x80", []rune{0xFFFD, 0xFFFD, 0xFFFD}}, // surrogates are not encodable
		{"\xf4\x90\x80\x80", []rune{0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}},
		{"\xf0\x9f\x98A", []rune{0xFFFD, 'A'}},
		{"\x80", []rune{0xFFFD}},
	}
	for _, tt := range tests {
		var got []rune
		decodeUTF8([]byte(tt.in), func(r rune) { got = append(got, r) })
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("decodeUTF8(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// FuzzLineHashes checks that hashing never panics and gives one hash per
// line, counting CR, LF and CRLF as one line end and the text after the last
// one as a line.
func FuzzLineHashes(f *testing.F) {
	for _, s := range []string{"", "\n", "a\r\nb\rc\n", "\xff\xe2\x82", "\r\r\n\n", strings.Repeat("ab\n", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// Only an LF right after a CR is skipped ("\r \n" is two line ends).
		lines := 1 + bytes.Count(src, []byte("\n")) + bytes.Count(src, []byte("\r")) - bytes.Count(src, []byte("\r\n"))
		if got := len(lineHashes(src)); got != lines {
			t.Errorf("%d hashes for %d lines", got, lines)
		}
	})
}
