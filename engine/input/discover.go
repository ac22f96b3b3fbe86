// Package input finds the files a check covers, detects their kind and turns
// each into a document with the parser of its kind.
package input

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// skippedDirs are never walked into: they hold other people's code.
var skippedDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true}

// Source is one file to check.
type Source struct {
	// Path is the path as reported: relative to the working directory when
	// the file is below it, slash-separated.
	Path string
	// File is the path to open.
	File string
	// Kind is the file's kind; "" means its content decides when it is
	// loaded.
	Kind document.Kind
	// Explicit marks a file named on the command line: when neither its
	// name nor its content says its kind, a fallback kind applies instead
	// of skipping it.
	Explicit bool
	// Target is the Dockerfile build stage checked for this file; ""
	// means LoadOptions.Target.
	Target string
	// Data is the content when it does not come from File (standard
	// input, a Dockerfile inline in a bake file); nil means File is read.
	Data []byte
	// Subject and Anchor are copied to the document (see
	// document.Document): the bake target that builds this Dockerfile, and
	// where findings of an inline Dockerfile are placed.
	Subject string
	Anchor  *document.Location
}

// StdinPath is how findings name standard input, given as the path "-".
const StdinPath = "stdin"

// DiscoverOptions tunes Discover. The zero value is the default.
type DiscoverOptions struct {
	// Kind forces the kind of explicitly named files (`--kind`).
	Kind document.Kind
	// Exclude reports whether a reported path must be left out.
	Exclude func(path string) bool
	// WorkDir is the directory reported paths are relative to; "" means the
	// process's working directory.
	WorkDir string
	// Stdin is the content of standard input, for the path "-"; nil when
	// it was not read.
	Stdin []byte
	// StdinName is the path standard input stands for (--stdin-filename):
	// it names the findings, decides the kind, and is matched against the
	// exclusions as that file would be. "" names it StdinPath.
	StdinName string
	// Skipped, when set, hears of each directory a walk leaves out for a
	// reason the user should know (a Helm chart's templates), so that
	// nothing is skipped without a word.
	Skipped func(path, reason string)
}

// helmTemplatesReason says why a chart's templates are not checked as they
// are: they are Go templates, YAML only once rendered.
const helmTemplatesReason = "Helm chart templates are YAML only once rendered: not checked; check the rendered chart instead (helm template CHART | dwf-policy check --stdin-filename chart.yaml -)"

// isHelmTemplates reports whether dir is the templates directory of a Helm
// chart (a Chart.yaml beside it).
func isHelmTemplates(dir string) bool {
	if filepath.Base(dir) != "templates" {
		return false
	}
	info, err := os.Stat(filepath.Join(filepath.Dir(dir), "Chart.yaml"))
	return err == nil && info.Mode().IsRegular()
}

// Discover expands paths (files or directories, relative ones resolved
// against the work directory) into the sources to check, in a stable order.
// A path that does not exist is an error that names it as given; the other
// paths are still returned.
func Discover(paths []string, opts DiscoverOptions) ([]Source, error) {
	wd := opts.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("finding working directory: %w", err)
		}
	}
	var out []Source
	var errs []error
	seen := map[string]bool{}
	add := func(src Source) {
		src.Path = repopath.Display(wd, src.File)
		if seen[src.Path] || (opts.Exclude != nil && opts.Exclude(src.Path)) {
			return
		}
		seen[src.Path] = true
		out = append(out, src)
	}
	for _, given := range paths {
		if given == "-" {
			if opts.Stdin == nil {
				errs = append(errs, errors.New("-: standard input was not read"))
				continue
			}
			if opts.StdinName != "" {
				file := opts.StdinName
				if !filepath.IsAbs(file) {
					file = filepath.Join(wd, file)
				}
				kind := opts.Kind
				if kind == "" {
					kind = KindOf(file)
				}
				add(Source{File: file, Kind: kind, Explicit: true, Data: opts.Stdin})
				continue
			}
			if !seen[StdinPath] {
				seen[StdinPath] = true
				out = append(out, Source{Path: StdinPath, Kind: opts.Kind, Explicit: true, Data: opts.Stdin})
			}
			continue
		}
		p := given
		if !filepath.IsAbs(p) {
			p = filepath.Join(wd, p)
		}
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", given, repofile.Cause(err)))
			continue
		}
		if !info.IsDir() {
			kind := opts.Kind
			if kind == "" {
				kind = KindOf(p)
			}
			add(Source{File: p, Kind: kind, Explicit: true})
			continue
		}
		err = filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				// An unreadable directory is reported, not silently skipped.
				errs = append(errs, fmt.Errorf("%s: %w", file, repofile.Cause(err)))
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if file != p && skippedDirs[d.Name()] {
					return fs.SkipDir
				}
				if file != p && isHelmTemplates(file) {
					if shown := repopath.Display(wd, file); opts.Skipped != nil && (opts.Exclude == nil || !opts.Exclude(shown)) {
						opts.Skipped(shown, helmTemplatesReason)
					}
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if kind := KindOf(file); kind != "" {
				add(Source{File: file, Kind: kind})
			} else if wantsSniff(file) {
				add(Source{File: file})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walking %s: %w", p, err))
		}
	}
	slices.SortFunc(out, func(a, b Source) int { return strings.Compare(a.Path, b.Path) })
	return out, errors.Join(errs...)
}
