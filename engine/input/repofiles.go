package input

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// MaxRepositoryFiles caps the files RepositoryFiles lists: a repository
// with more Dockerfiles and lockfiles than this is not one a rule about
// scan triggers can judge file by file.
const MaxRepositoryFiles = 10000

// maxRepositoryEntries caps the directory entries RepositoryFiles visits,
// so that a check started in a huge tree stays bounded.
const maxRepositoryEntries = 1 << 20

// RepositoryFilesOptions tune RepositoryFiles.
type RepositoryFilesOptions struct {
	// WorkDir is the directory reported paths are relative to.
	WorkDir string
	// Lockfiles are globs over a file's base name (path.Match syntax).
	Lockfiles []string
	// Exclude reports whether a reported path must be left out; an
	// excluded directory is not walked.
	Exclude func(path string) bool
}

// RepositoryFiles lists the Dockerfiles (by name, as the kind table
// recognises them in a walk) and lockfiles (by the names given) below
// root, named as findings name files (relative to the working directory),
// sorted by path. Directories that hold other people's code (.git, vendor,
// node_modules) are not walked, and neither are excluded ones. Unreadable
// directories are skipped: the list feeds rules, not the run's errors. At
// most MaxRepositoryFiles are listed, after at most 2^20 entries visited;
// truncated reports whether some were left out.
func RepositoryFiles(root string, opts RepositoryFilesOptions) (files []document.RepositoryFile, truncated bool) {
	visited := 0
	_ = filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
		if visited++; visited > maxRepositoryEntries {
			truncated = true
			return fs.SkipAll
		}
		if err != nil {
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		display := repopath.Display(opts.WorkDir, file)
		if d.IsDir() {
			if file != root && (skippedDirs[d.Name()] || (opts.Exclude != nil && opts.Exclude(display))) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || (opts.Exclude != nil && opts.Exclude(display)) {
			return nil
		}
		kind := ""
		switch {
		case KindOf(file) == document.KindDockerfile:
			kind = document.RepositoryDockerfile
		case isLockfile(d.Name(), opts.Lockfiles):
			kind = document.RepositoryLockfile
		default:
			return nil
		}
		if len(files) == MaxRepositoryFiles {
			truncated = true
			return fs.SkipAll
		}
		files = append(files, document.RepositoryFile{Path: display, Kind: kind})
		return nil
	})
	slices.SortFunc(files, func(a, b document.RepositoryFile) int { return strings.Compare(a.Path, b.Path) })
	return files, truncated
}

func isLockfile(name string, globs []string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}
