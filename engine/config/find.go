package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/devflow/dwf-policy/engine/repopath"
)

// Find looks for FileName in dir and its parents up to the repository root
// (the first directory holding .git), never beyond it: a configuration
// outside the repository belongs to something else. Outside a repository
// only dir itself is searched. It returns "" when there is none.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding config: %w", err)
	}
	inRepo := repopath.Root(dir) != ""
	for d := dir; ; {
		file := filepath.Join(d, FileName)
		info, err := os.Stat(file)
		switch {
		case err == nil && !info.IsDir():
			return file, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("finding config: %w", err)
		}
		if !inRepo || exists(filepath.Join(d, ".git")) {
			return "", nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", nil
		}
		d = parent
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// FindIgnoreFiles returns Trivy's ignore files (IgnoreFileNames) in the
// nearest directory from dir upward that holds one, searched as Find
// searches for the configuration; nil when there are none.
func FindIgnoreFiles(dir string) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("finding ignore files: %w", err)
	}
	inRepo := repopath.Root(dir) != ""
	for d := dir; ; {
		var found []string
		for _, name := range IgnoreFileNames {
			file := filepath.Join(d, name)
			if info, err := os.Stat(file); err == nil && !info.IsDir() {
				found = append(found, file)
			}
		}
		if len(found) > 0 {
			return found, nil
		}
		if !inRepo || exists(filepath.Join(d, ".git")) {
			return nil, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, nil
		}
		d = parent
	}
}
