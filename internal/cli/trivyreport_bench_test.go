package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCheckTrivyReport is `dwf-policy check --format json` of the
// report in $DWF_BENCH_REPORT (a 5,000-vulnerability report: see
// engine/check's BenchmarkTrivyReport5000), policy compilation included.
func BenchmarkCheckTrivyReport(b *testing.B) {
	src := os.Getenv("DWF_BENCH_REPORT")
	if src == "" {
		b.Skip("DWF_BENCH_REPORT names no report")
	}
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "trivy.json"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var out, errb bytes.Buffer
		cmd := Command{Stdout: &out, Stderr: &errb, WorkDir: dir, Now: func() time.Time { return time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) }}
		if code := cmd.Main(context.Background(), []string{"dwf-policy", "check", "--format", "json", "--fail-on", "none", "trivy.json"}); code != ExitOK {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
}
