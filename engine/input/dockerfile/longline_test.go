package dockerfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
)

// parseErr parses src and returns its ParseError, failing when there is none.
func parseErr(t *testing.T, src string) *document.ParseError {
	t.Helper()
	_, err := Parse("Dockerfile", []byte(src), Options{})
	var pe *document.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *document.ParseError", err, err)
	}
	return pe
}

func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", 70000)
	tests := []struct {
		name string
		src  string
		line int
	}{
		{"after other lines", "FROM alpine\nRUN echo hi\nRUN echo " + long + "\nUSER 1\n", 3},
		{"first line", "RUN echo " + long + "\n", 1},
		{"after continuation and blank lines", "FROM alpine\nRUN echo hi \\\n  there\n# c\n\nRUN echo " + long, 6},
		{"inside a continuation", "FROM alpine\nRUN echo \\\n" + long + "\n", 3},
		{"heredoc body", "FROM alpine\nRUN <<EOF\necho hi\n" + long + "\nEOF\n", 4},
		{"carriage return counts", "FROM alpine\nRUN echo " + strings.Repeat("x", maxLineBytes-9) + "\r\nUSER 1\n", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pe := parseErr(t, tc.src)
			if pe.Location.Line != tc.line || pe.Location.EndLine != tc.line || !strings.Contains(pe.Message, "longer than the 65535 bytes the Dockerfile parser accepts") {
				t.Errorf("got %q at %+v, want line %d", pe.Message, pe.Location, tc.line)
			}
		})
	}
	// The longest line BuildKit accepts still parses.
	mustParse(t, "FROM alpine\nRUN echo "+strings.Repeat("x", maxLineBytes-9)+"\n", Options{})
}
