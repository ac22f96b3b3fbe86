package input

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
)

func TestRepositoryFiles(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"Dockerfile", "go.sum", "requirements-dev.txt", "README.md",
		"svc/api/Dockerfile.prod", "svc/api/package-lock.json", "svc/web/web.Dockerfile",
		"docs/Dockerfile.md", "node_modules/x/Dockerfile", "vendor/y/go.sum", ".git/Dockerfile",
		"legacy/Dockerfile", "legacy/go.sum",
	} {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sub := filepath.Join(root, "svc")
	tests := []struct {
		name string
		wd   string
		want []document.RepositoryFile
	}{
		{"from the root", root, []document.RepositoryFile{
			{Path: "Dockerfile", Kind: "dockerfile"},
			{Path: "go.sum", Kind: "lockfile"},
			{Path: "requirements-dev.txt", Kind: "lockfile"},
			{Path: "svc/api/Dockerfile.prod", Kind: "dockerfile"},
			{Path: "svc/api/package-lock.json", Kind: "lockfile"},
			{Path: "svc/web/web.Dockerfile", Kind: "dockerfile"},
		}},
		// Named as findings name files: relative to the working directory.
		{"from a subdirectory", sub, []document.RepositoryFile{
			{Path: "../Dockerfile", Kind: "dockerfile"},
			{Path: "../go.sum", Kind: "lockfile"},
			{Path: "../requirements-dev.txt", Kind: "lockfile"},
			{Path: "api/Dockerfile.prod", Kind: "dockerfile"},
			{Path: "api/package-lock.json", Kind: "lockfile"},
			{Path: "web/web.Dockerfile", Kind: "dockerfile"},
		}},
	}
	if err := os.Mkdir(filepath.Join(root, ".git", "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := RepositoryFiles(root, RepositoryFilesOptions{
				WorkDir:   tt.wd,
				Lockfiles: []string{"go.sum", "package-lock.json", "requirements*.txt"},
				Exclude:   func(p string) bool { return strings.HasSuffix(p, "legacy") || strings.Contains(p, "legacy/") },
			})
			if truncated {
				t.Error("truncated")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RepositoryFiles (-want +got):\n%s", diff)
			}
		})
	}
}
