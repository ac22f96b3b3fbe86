// Package dockerfile turns a Dockerfile into the positioned document that the
// dwf.dockerfile.* policies read (engine/document/schemas/dockerfile.json).
//
// Parsing is BuildKit's own (parser and shell lexer), so directives,
// heredocs, continuation lines and ARG/ENV expansion follow Docker exactly.
// RUN scripts are read with a real shell parser (mvdan.cc/sh).
package dockerfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/devflow/dwf-policy/engine/document"
)

// DefaultMaxBytes caps the size of one Dockerfile. Real Dockerfiles are a few
// kilobytes; a multi-megabyte one is generated or a mistake.
const DefaultMaxBytes = 4 << 20

// Options tunes Parse. The zero value is the default.
type Options struct {
	// Target names the stage that is built (like `docker build --target`);
	// empty means the last stage.
	Target string
	// MaxBytes caps the input size; 0 means DefaultMaxBytes.
	MaxBytes int
}

// TargetNotFoundError is the cause of the ParseError for a Target the
// Dockerfile has no stage of; callers that apply one --target to many
// Dockerfiles branch on it.
type TargetNotFoundError struct {
	Target string
	// Stages are the names of the Dockerfile's named stages, in order.
	Stages []string
}

func (e *TargetNotFoundError) Error() string {
	return fmt.Sprintf("target stage %q not found (stages: %s)", e.Target, strings.Join(e.Stages, ", "))
}

// Parse parses src (the content of path). A problem with the file itself is
// returned as a *document.ParseError.
func Parse(path string, src []byte, opts Options) (*document.Document, error) {
	if err := precheck(path, src, opts); err != nil {
		return nil, err
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, parseError(path, src, err)
	}
	b := newBuilder(path, src, res.EscapeToken)
	if err := b.build(res.AST, opts.Target); err != nil {
		return nil, err
	}
	return &document.Document{Kind: document.KindDockerfile, Path: path, Source: src, Input: b.input()}, nil
}

// precheck refuses inputs that are not Dockerfiles at all, with the position
// of the first offending byte.
func precheck(path string, src []byte, opts Options) error {
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(src) > limit {
		return &document.ParseError{Path: path, Message: fmt.Sprintf("file is %d bytes, larger than the %d-byte limit for a Dockerfile", len(src), limit)}
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return &document.ParseError{Path: path, Location: pointAt(src, i), Message: "binary file: NUL byte found, not a Dockerfile"}
	}
	if !utf8.Valid(src) {
		i := 0
		for i < len(src) {
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return &document.ParseError{Path: path, Location: pointAt(src, i), Message: "invalid UTF-8: Dockerfiles must be UTF-8 text"}
	}
	if line := tooManyWords(src); line > 0 {
		return &document.ParseError{Path: path, Location: lineSpan(splitLines(src), line, line),
			Message: fmt.Sprintf("too many words: the file has more than %d words (text between blanks or , ; & | ( ) < >), the limit for one Dockerfile", maxWords)}
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return &document.ParseError{Path: path, Location: document.Location{Line: 1, Column: 1, EndLine: 1, EndColumn: 1}, Message: "empty Dockerfile: no instructions"}
	}
	return nil
}

// maxLineBytes is the longest line BuildKit's scanner accepts, counting a
// carriage return but not the newline (bufio.MaxScanTokenSize - 1).
const maxLineBytes = bufio.MaxScanTokenSize - 1

// firstLongLine returns the length and 1-based number of the first line
// longer than maxLineBytes, or 0, 0.
func firstLongLine(src []byte) (n, line int) {
	for i := 1; len(src) > 0; i++ {
		end := bytes.IndexByte(src, '\n')
		if end < 0 {
			end = len(src)
		}
		if end > maxLineBytes {
			return end, i
		}
		src = src[min(end+1, len(src)):]
	}
	return 0, 0
}

// parseError converts a BuildKit parser error into a ParseError at the
// line BuildKit reports.
func parseError(path string, src []byte, err error) error {
	msg := err.Error()
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) {
		msg = le.Unwrap().Error()
		for _, ranges := range le.Locations {
			for _, r := range ranges {
				if r.Start.Line > 0 && (line == 0 || r.Start.Line < line) {
					line = r.Start.Line
				}
			}
		}
	}
	lines := splitLines(src)
	// BuildKit's scanner stops at a line over its limit and reports the
	// last line it did read, or, when the stop cut a heredoc or came before
	// any instruction, "unterminated heredoc" or "file with no
	// instructions"; point at the over-long line itself.
	if n, long := firstLongLine(src); long > 0 && (errors.Is(err, bufioErrTooLong) || strings.Contains(msg, "token too long") ||
		strings.Contains(msg, "max allowed size") || strings.Contains(msg, "file with no instructions") ||
		strings.Contains(msg, "unterminated heredoc")) {
		return &document.ParseError{Path: path, Location: lineSpan(lines, long, long),
			Message: fmt.Sprintf("line is %d bytes, longer than the %d bytes the Dockerfile parser accepts; split it with continuation lines", n, maxLineBytes)}
	}
	if line == 0 || strings.Contains(msg, "file with no instructions") {
		line = 1 // the whole file is the problem: point at its start
	}
	if line > len(lines) {
		line = max(len(lines), 1)
	}
	return &document.ParseError{Path: path, Location: lineSpan(lines, line, line), Message: msg}
}
