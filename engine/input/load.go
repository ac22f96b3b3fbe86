package input

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/repofile"
)

// DefaultMaxFileBytes caps every input file read from disk.
const DefaultMaxFileBytes = 4 << 20

// LoadOptions tunes Load. The zero value is the default.
type LoadOptions struct {
	// Target is the Dockerfile stage that is built (`--target`), for
	// sources that name none of their own.
	Target string
	// MaxFileBytes caps each file; 0 means DefaultMaxFileBytes, or the
	// kind's own FileKind.MaxFileBytes (Trivy reports get more room).
	MaxFileBytes int
	// RepoRoot is the directory workflows' repository-relative files (a
	// trivy.yaml) are read from; "" means they are not read.
	RepoRoot string
	// Vars are bake variable overrides (`--var NAME=VALUE`); the process
	// environment is never read for them.
	Vars map[string]string
	// Sniffed, when set, hears the kind a source's content decided, before
	// that content is parsed: a caller can start compiling the kind's rules
	// while a large file (a Trivy report) is parsed.
	Sniffed func(kind document.Kind)
}

// MaxFileBytes is the largest file any kind reads when LoadOptions sets no
// cap.
func MaxFileBytes() int {
	limit := DefaultMaxFileBytes
	for _, k := range fileKinds {
		limit = max(limit, k.MaxFileBytes)
	}
	return limit
}

// LoadDocument reads and parses one source. Every failure is a problem with
// that file, returned as a *document.ParseError naming it. A source whose
// kind its content decides, and whose content no kind recognises, is not
// an input: LoadDocument returns nil for it and no error, unless it was
// named explicitly (then a fallback kind applies).
func LoadDocument(src Source, opts LoadOptions) (*document.Document, *document.ParseError) {
	limit := opts.MaxFileBytes
	if limit <= 0 {
		limit = maxFileBytes(src.Kind, src.File)
	}
	data := src.Data
	if data == nil {
		var err error
		if data, err = readCapped(src.File, limit); err != nil {
			return nil, &document.ParseError{Path: src.Path, Message: err.Error()}
		}
	} else if len(data) > limit {
		return nil, &document.ParseError{Path: src.Path, Message: fmt.Sprintf("file is larger than the %d-byte limit for one input", limit)}
	}
	kind := src.Kind
	if kind == "" {
		kind = sniffKind(src.File, data, src.Explicit)
	}
	if kind == "" && src.Explicit {
		kind = fallbackKind(src.File)
	}
	if kind == "" {
		return nil, nil
	}
	if src.Kind == "" && opts.Sniffed != nil {
		opts.Sniffed(kind)
	}
	if src.Target != "" {
		opts.Target = src.Target
	}
	doc, err := parse(kind, src.Path, data, opts, siblingReader(src.File, opts.MaxFileBytes))
	if err != nil {
		pe, ok := err.(*document.ParseError)
		if !ok {
			pe = &document.ParseError{Path: src.Path, Message: err.Error()}
		}
		if src.Anchor != nil {
			pe.Location = *src.Anchor
		}
		return nil, pe
	}
	doc.Subject, doc.Anchor = src.Subject, src.Anchor
	return doc, nil
}

// Parse turns bytes of a known kind into a document.
func Parse(kind document.Kind, path string, data []byte, opts LoadOptions) (*document.Document, error) {
	return parse(kind, path, data, opts, nil)
}

func parse(kind document.Kind, path string, data []byte, opts LoadOptions, sibling func(string) ([]byte, error)) (*document.Document, error) {
	k, ok := LookupKind(string(kind))
	if !ok {
		return nil, &document.ParseError{Path: path, Message: fmt.Sprintf("input kind %q is not supported for files", kind)}
	}
	return k.Parse(path, data, ParseOptions{
		Target:      opts.Target,
		MaxBytes:    opts.MaxFileBytes,
		ReadFile:    repoReader(opts.RepoRoot, opts.MaxFileBytes),
		ReadSibling: sibling,
		Vars:        opts.Vars,
	})
}

// siblingReader reads regular files, capped, from the directory of file.
func siblingReader(file string, limit int) func(string) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	dir := filepath.Dir(file)
	return func(name string) ([]byte, error) {
		data, err := repofile.ReadFile(filepath.Join(dir, filepath.Base(name)), int64(limit))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return data, nil
	}
}

// readCapped reads a regular file of at most limit bytes: a FIFO or a
// device named on the command line is refused, not read forever.
func readCapped(file string, limit int) ([]byte, error) {
	data, err := repofile.ReadFile(file, int64(limit))
	if err != nil {
		if _, ok := errors.AsType[*repofile.TooLargeError](err); ok {
			return nil, fmt.Errorf("file is larger than the %d-byte limit for one input", limit)
		}
		return nil, fmt.Errorf("cannot read file: %w", err)
	}
	return data, nil
}

// repoReader reads repository-relative, slash-separated paths below root,
// capped in size, through os.Root: neither ".." nor a symbolic link can make
// a workflow read a file outside the repository, and only regular files
// are read.
func repoReader(root string, limit int) func(string) ([]byte, error) {
	if root == "" {
		return nil
	}
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	return func(name string) ([]byte, error) {
		data, err := repofile.ReadIn(root, name, int64(limit))
		if err != nil {
			return nil, fmt.Errorf("%s %w", name, err)
		}
		return data, nil
	}
}
