// Package repopath names files the way every front door reports them:
// relative to the working directory, or to the enclosing repository.
package repopath

import (
	"os"
	"path/filepath"
	"strings"
)

// Root returns the nearest directory at or above dir that holds .git, or ""
// outside a repository.
func Root(dir string) string {
	for d := dir; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// Abs resolves p against wd.
func Abs(wd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(wd, p)
}

// Display names a file in findings and messages: slash-separated and
// relative to wd when it is below wd, or in the same repository as wd (a
// configuration found in a parent directory is ../.dwf-policy.yaml); else
// absolute.
func Display(wd, file string) string {
	abs := Abs(wd, file)
	rel, err := filepath.Rel(wd, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	if !isOutside(rel) {
		return filepath.ToSlash(rel)
	}
	if root := Root(wd); root != "" {
		if r, err := filepath.Rel(root, abs); err == nil && !isOutside(r) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(abs)
}

// RepoRelative maps reported paths (relative to wd) to paths relative to
// the repository root around wd, which is what GitHub code scanning
// resolves SARIF URIs against. Outside a repository it returns nil: paths
// stay as they are.
func RepoRelative(wd string) func(string) string {
	root := Root(wd)
	if root == "" {
		return nil
	}
	return func(p string) string {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(wd, filepath.FromSlash(p))
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || isOutside(rel) {
			return p
		}
		return filepath.ToSlash(rel)
	}
}

// isOutside reports whether a relative path climbs out of its base.
func isOutside(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
