package check_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/policyset"
)

// imageWorkflow scans an image on pushes that change src/ only (DWF210).
const imageWorkflow = `on:
  push:
    paths: ['src/**']
permissions: {}
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - run: trivy image --exit-code 1 --severity CRITICAL,HIGH app:1
`

// The repository document lists the Dockerfiles and lockfiles of the whole
// repository when only a workflow is checked (a pre-commit hook); outside a
// repository, those of the directories given, and none when only a file is.
func TestRepositoryFilesWhateverIsChecked(t *testing.T) {
	files := map[string]string{".github/workflows/image.yml": imageWorkflow, "svc/Dockerfile": dockerfile}
	inRepo := repo(t, files)
	outside := t.TempDir()
	for name, body := range files {
		p := filepath.Join(outside, "proj", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		wd    string
		paths []string
		want  string // the file DWF210 names, "" for no finding
	}{
		{"a workflow in a repository", inRepo, []string{".github/workflows/image.yml"}, "svc/Dockerfile"},
		{"a directory outside a repository", outside, []string{"proj"}, "svc/Dockerfile"},
		{"a file outside a repository", outside, []string{"proj/.github/workflows/image.yml"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: tt.wd})
			if err != nil {
				t.Fatal(err)
			}
			res := check.New(set, check.Options{}).Files(context.Background(), tt.paths, check.FilesOptions{})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			var named []string
			for _, f := range res.Findings {
				if f.RuleID == "DWF210" {
					named = append(named, f.Message)
				}
			}
			switch {
			case tt.want == "" && len(named) > 0:
				t.Errorf("DWF210 fired: %q", named)
			case tt.want != "" && (len(named) != 1 || !strings.HasPrefix(named[0], "A change to `"+tt.want+"`")):
				t.Errorf("DWF210 findings %q, want one about %s", named, tt.want)
			}
		})
	}
}
