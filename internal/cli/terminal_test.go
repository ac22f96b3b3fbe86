package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// runTTY runs the CLI as on a terminal (Command.TTY).
func runTTY(t *testing.T, wd string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Command{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), WorkDir: wd, TTY: true}.Main(context.Background(), append([]string{"dwf-policy"}, args...))
	return stdout.String(), stderr.String(), code
}

func TestTerminalOutput(t *testing.T) {
	root := repoRoot(t)
	const file = "testdata/demo/worker/Dockerfile"
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")

	// Piped: exactly one line per finding, then the summary; no colour.
	plain, _, _ := run(t, root, "check", file)
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, file+":") {
			t.Errorf("piped output has a line that is no finding: %q", l)
		}
	}
	if strings.Contains(plain, "\x1b[") {
		t.Errorf("piped output is coloured")
	}

	// A terminal: colour, and the source line with a caret under each
	// finding (DWF103 at line 6, column 1, to column 27).
	tty, _, code := runTTY(t, root, "check", file)
	if code != ExitFindings || !strings.Contains(tty, "\x1b[31m\x1b[1merror\x1b[0m") {
		t.Errorf("no colour on a terminal:\n%q", tty)
	}
	if !strings.Contains(tty, "\n    ENTRYPOINT python -m worker\n    \x1b[31m\x1b[1m"+strings.Repeat("^", 27)+"\x1b[0m\n") {
		t.Errorf("no source line with carets under DWF103:\n%s", tty)
	}

	// NO_COLOR: snippets, no colour; --color always wins over it.
	t.Setenv("NO_COLOR", "1")
	tty, _, _ = runTTY(t, root, "check", file)
	if strings.Contains(tty, "\x1b[") || !strings.Contains(tty, "    ENTRYPOINT python -m worker\n") {
		t.Errorf("NO_COLOR: %q", tty)
	}
	tty, _, _ = runTTY(t, root, "check", "--color", "always", file)
	if !strings.Contains(tty, "\x1b[") {
		t.Errorf("--color always under NO_COLOR is not coloured")
	}
	t.Setenv("NO_COLOR", "")
	tty, _, _ = runTTY(t, root, "check", "--color", "never", file)
	if strings.Contains(tty, "\x1b[") {
		t.Errorf("--color never is coloured")
	}
	// Piped with --color always: colour, still one line per finding.
	out, _, _ := run(t, root, "check", "--color", "ALWAYS", file)
	if !strings.Contains(out, "\x1b[") || strings.Count(out, "\n") != len(lines) {
		t.Errorf("--color always, piped:\n%s", out)
	}
	// Other formats are never coloured.
	out, _, _ = runTTY(t, root, "check", "--format", "json", file)
	if strings.Contains(out, "\x1b[") {
		t.Errorf("JSON is coloured")
	}

	if _, stderr, code := run(t, root, "check", "--color", "sometimes", file); code != ExitError || !strings.Contains(stderr, `--color: unknown value "sometimes"`) {
		t.Errorf("--color sometimes: %d %q", code, stderr)
	}
}

// TestNullDeviceIsNoTerminal: /dev/null is a character device but no
// terminal; a report sent there (hyperfine, cron) gets no snippets.
func TestNullDeviceIsNoTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull) // read-only: nothing is written to it
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if (Command{}).isTerminal(f) {
		t.Errorf("%s counts as a terminal", os.DevNull)
	}
}
