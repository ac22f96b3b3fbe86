package dockerfile

import (
	"bufio"
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/devflow/dwf-policy/engine/document"
)

var bufioErrTooLong = bufio.ErrTooLong

// splitLines splits src into lines without their line terminators.
func splitLines(src []byte) []string {
	s := string(src)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// lineSpan locates lines start..end (1-based): from the first non-blank
// character of the first line to the last non-blank character of the last.
// BuildKit reports lines only; columns come from the source text.
func lineSpan(lines []string, start, end int) document.Location {
	if start < 1 {
		start = 1
	}
	if end < start {
		end = start
	}
	loc := document.Location{Line: start, Column: 1, EndLine: end, EndColumn: 1}
	if start <= len(lines) {
		first := lines[start-1]
		loc.Column = utf8.RuneCountInString(first[:len(first)-len(strings.TrimLeftFunc(first, unicode.IsSpace))]) + 1
	}
	if end <= len(lines) {
		last := strings.TrimRightFunc(lines[end-1], unicode.IsSpace)
		if n := utf8.RuneCountInString(last); n > 0 {
			loc.EndColumn = n
		}
	}
	if loc.EndLine == loc.Line && loc.EndColumn < loc.Column {
		loc.EndColumn = loc.Column
	}
	return loc
}

// pointAt locates the single byte offset i in src.
func pointAt(src []byte, i int) document.Location {
	line := bytes.Count(src[:i], []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(src[:i], '\n') + 1
	col := utf8.RuneCount(src[lineStart:i]) + 1
	return document.Location{Line: line, Column: col, EndLine: line, EndColumn: col}
}
