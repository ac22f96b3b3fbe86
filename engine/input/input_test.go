package input

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
)

func TestKindOf(t *testing.T) {
	tests := map[string]document.Kind{
		"Dockerfile":                  document.KindDockerfile,
		"build/Containerfile":         document.KindDockerfile,
		"Dockerfile.devflow":          document.KindDockerfile,
		"api.Dockerfile":              document.KindDockerfile,
		"api.dockerfile":              document.KindDockerfile,
		".github/workflows/ci.yml":    document.KindWorkflow,
		"x/.github/workflows/a.yaml":  document.KindWorkflow,
		".github/workflows/sub/a.yml": "",
		"ci.yml":                      "",
		"dockerfile":                  "",
		"README.md":                   "",
	}
	for path, want := range tests {
		if got := KindOf(path); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"Dockerfile", "svc/api.Dockerfile", "svc/notes.txt", ".github/workflows/ci.yml",
		"vendor/x/Dockerfile", "node_modules/y/Dockerfile", ".git/Dockerfile", "deep/a/b/Containerfile",
	} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("FROM x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	explicit := filepath.Join(dir, "svc", "notes.txt")
	got, err := Discover([]string{dir, explicit, filepath.Join(dir, "missing")}, DiscoverOptions{
		WorkDir: dir,
		Exclude: func(p string) bool { return strings.HasPrefix(p, "deep/") },
	})
	if err == nil || !strings.Contains(err.Error(), "missing: no such file or directory") {
		t.Errorf("err = %v, want the missing path named", err)
	}
	var paths []string
	for _, s := range got {
		paths = append(paths, string(s.Kind)+":"+s.Path)
	}
	want := []string{"workflow:.github/workflows/ci.yml", "dockerfile:Dockerfile", "dockerfile:svc/api.Dockerfile", "dockerfile:svc/notes.txt"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("discovered (-want +got):\n%s", diff)
	}
}

func TestLoadDocumentErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		opts LoadOptions
		want string
	}{
		{"directory", dir, LoadOptions{}, "cannot read file: is a directory"},
		{"missing", filepath.Join(dir, "nope"), LoadOptions{}, "cannot read file: no such file or directory"},
		{"over the cap", big, LoadOptions{MaxFileBytes: 1024}, "larger than the 1024-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := LoadDocument(Source{Path: "shown/path", File: tc.file, Kind: document.KindDockerfile}, tc.opts)
			if perr == nil || perr.Path != "shown/path" || !strings.Contains(perr.Message, tc.want) {
				t.Errorf("got %v, want a ParseError for shown/path containing %q", perr, tc.want)
			}
		})
	}
}

func TestRepoReaderStaysInside(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "trivy.yaml"), []byte("exit-code: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	read := repoReader(repo, 0)
	if data, err := read("trivy.yaml"); err != nil || string(data) != "exit-code: 1\n" {
		t.Errorf("trivy.yaml: %q, %v", data, err)
	}
	for _, name := range []string{"../" + filepath.Base(outside) + "/secret", "link", filepath.Join(outside, "secret")} {
		if data, err := read(name); err == nil {
			t.Errorf("read(%q) = %q, want an error: the file is outside the repository", name, data)
		}
	}
	if _, err := read("missing.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}
