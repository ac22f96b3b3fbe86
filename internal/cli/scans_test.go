package cli

import (
	"strings"
	"testing"
)

// scans.lockfiles decides which lockfiles DWF210 asks a path filter to let
// through, and the scanning-layer rules are turned off as any rule.
func TestScanLayersConfiguration(t *testing.T) {
	workflow := `on:
  push:
    branches: [main]
    paths: ['**/Dockerfile']
permissions:
  contents: read
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - run: trivy image --exit-code 1 --severity CRITICAL,HIGH ghcr.io/acme/app:1
`
	tests := []struct {
		name   string
		config string
		want   []string // DWF210 messages' start, in order
		absent []string // rule IDs that must not appear
	}{
		{"default lockfiles", "", []string{"A change to `go.sum`"}, nil},
		{"configured lockfiles", "scans:\n  lockfiles: [deps.lock]\n", []string{"A change to `deps.lock`"}, nil},
		{"rules off", "rules:\n  DWF207: off\n  DWF208: off\n  DWF209: off\n  DWF210: off\n", nil, []string{"DWF207", "DWF208", "DWF209", "DWF210"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustMkdir(t, dir+"/.git")
			files := map[string]string{
				".github/workflows/image.yml": workflow,
				"Dockerfile":                  goodDockerfile,
				"go.sum":                      "",
				"deps.lock":                   "",
			}
			if tt.config != "" {
				files[".dwf-policy.yaml"] = tt.config
			}
			writeTree(t, dir, files)
			out, stderr, _ := run(t, dir, "check", "--fail-on", "none", ".")
			if stderr != "" {
				t.Fatalf("stderr: %s", stderr)
			}
			var got []string
			for _, l := range strings.Split(out, "\n") {
				if _, msg, ok := strings.Cut(l, " DWF210 "); ok {
					got = append(got, msg)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("DWF210 findings %q, want %d:\n%s", got, len(tt.want), out)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) || strings.Contains(got[i], "and 1 other") || strings.Contains(got[i], "(nor to") {
					t.Errorf("DWF210 finding %q, want one about %s alone", got[i], w)
				}
			}
			for _, id := range tt.absent {
				if strings.Contains(out, id) {
					t.Errorf("%s reported although off:\n%s", id, out)
				}
			}
		})
	}
}
