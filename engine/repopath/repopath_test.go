package repopath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDisplay(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "sub")
	outside := t.TempDir()
	tests := []struct {
		name, wd, file, want string
	}{
		{"below wd", repo, filepath.Join(repo, "a", "Dockerfile"), "a/Dockerfile"},
		{"relative input", repo, "a/Dockerfile", "a/Dockerfile"},
		{"parent in the same repository", sub, filepath.Join(repo, ".dwf-policy.yaml"), "../.dwf-policy.yaml"},
		{"outside the repository", sub, filepath.Join(outside, "x"), filepath.ToSlash(filepath.Join(outside, "x"))},
		{"a name starting with dots is below wd", repo, filepath.Join(repo, "..foo"), "..foo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Display(tt.wd, tt.file); got != tt.want {
				t.Errorf("Display(%q, %q) = %q, want %q", tt.wd, tt.file, got, tt.want)
			}
		})
	}
}

func TestRootAndRepoRelative(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(repo, "sub", "deeper")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Root(sub); got != repo {
		t.Errorf("Root(%q) = %q, want %q", sub, got, repo)
	}
	rel := RepoRelative(sub)
	if rel == nil {
		t.Fatal("RepoRelative returned nil inside a repository")
	}
	if got := rel("Dockerfile"); got != "sub/deeper/Dockerfile" {
		t.Errorf("rel(Dockerfile) = %q", got)
	}
	if got := rel("ghcr.io/org/app:1"); got != "sub/deeper/ghcr.io/org/app:1" {
		t.Errorf("rel of a reference = %q", got)
	}
	outside := t.TempDir()
	if Root(outside) != "" || RepoRelative(outside) != nil {
		t.Errorf("outside a repository: Root=%q", Root(outside))
	}
}
