package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalContext: the first SIGTERM cancels the context with the signal
// as its cause, and the exit code is the shell's 128+15.
func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background())
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	in, ok := interruption(ctx)
	if !ok || in.Signal != syscall.SIGTERM || in.ExitCode() != 143 {
		t.Errorf("cause %v", context.Cause(ctx))
	}
}

// TestInterruptedCheck: a check interrupted in the middle of its work
// (here a custom rule that would take minutes) stops promptly, writes the
// partial report it has, says so, exits 130 and leaves no temporary file.
func TestInterruptedCheck(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"policy/slow.rego": `# METADATA
# title: Slow
# custom:
#   id: ACME9
#   severity: warning
#   kind: dockerfile
package dwf.dockerfile.slow

deny contains {"msg": "never"} if count({i | some i in numbers.range(1, 200000); some j in numbers.range(1, 200000); i * j == -1}) > 0
`,
		"a/Dockerfile": "FROM alpine:3.20\n",
		"b/Dockerfile": "FROM alpine:3.20\n",
		"c/Dockerfile": "FROM alpine:3.20\n",
	})
	ctx, cancel := context.WithCancelCause(context.Background())
	// Long enough for the policies to compile even under -race, far
	// shorter than the rule would take.
	time.AfterFunc(1500*time.Millisecond, func() { cancel(Interrupted{Signal: syscall.SIGINT}) })
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := Command{Stdout: &stdout, Stderr: &stderr, WorkDir: dir}.Main(ctx, []string{"dwf-policy", "check", "--policy", "policy", "--eval-timeout", "10m", "--format", "sarif", "-o", "out.sarif", "."})
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("took %s: the interruption did not stop the work", took)
	}
	if code != 130 || !strings.Contains(stderr.String(), "interrupted by SIGINT: stopped early; any report written is partial") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out.sarif")); err != nil {
		t.Errorf("no partial report: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".dwf-policy-*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
