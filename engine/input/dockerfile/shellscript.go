package dockerfile

import (
	"errors"

	"github.com/devflow/dwf-policy/engine/analysis/shell"
)

// shells are programs whose -c argument is itself a script to read.
var shells = shell.Shells()

// shellCommand is one simple command of a RUN script, wrappers (sudo -u U,
// env A=B, timeout N, xargs, ...) peeled off: name is the program that
// runs, words its words from that program on.
type shellCommand struct {
	name  string
	words []string
}

// scriptReader extracts the simple commands of RUN scripts with
// engine/analysis/shell, expanding the variables ARG and ENV define. It is
// not safe for concurrent use; one builder owns one.
type scriptReader struct {
	reader *shell.Reader
	env    func(string) (string, bool)
	// tooDeep is set when a script is nested too deeply to parse safely
	// (shell.CheckNesting); the builder turns it into a ParseError at the
	// RUN.
	tooDeep error
}

func newScriptReader() *scriptReader {
	return &scriptReader{reader: shell.NewReader()}
}

// commands parses script and returns its simple commands, descending into
// `sh -c` scripts (shell.Reader bounds the nesting; depth is the level
// script itself sits at, 0 for a RUN). The error is the shell parser's, for
// parse_error; a script nested too deeply to parse sets tooDeep instead.
func (s *scriptReader) commands(script string, depth int) ([]shellCommand, error) {
	if depth >= shell.MaxDepth {
		return nil, nil
	}
	cmds, err := s.reader.Commands(script, s.env)
	var deep *shell.NestingError
	if errors.As(err, &deep) {
		if s.tooDeep == nil {
			s.tooDeep = err
		}
		return nil, nil
	}
	out := make([]shellCommand, 0, len(cmds))
	for _, c := range cmds {
		if c.Depth+depth <= shell.MaxDepth {
			out = append(out, shellCommand{name: c.Name, words: c.Words})
		}
	}
	return out, err
}
