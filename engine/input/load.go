package input

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/devflow/dwf-policy/engine/document"
)

// DefaultMaxFileBytes caps every input file read from disk.
const DefaultMaxFileBytes = 4 << 20

// LoadOptions tunes Load. The zero value is the default.
type LoadOptions struct {
	// Target is the Dockerfile stage that is built (`--target`), for
	// sources that name none of their own.
	Target string
	// MaxFileBytes caps each file; 0 means DefaultMaxFileBytes.
	MaxFileBytes int
	// RepoRoot is the directory workflows' repository-relative files (a
	// trivy.yaml) are read from; "" means they are not read.
	RepoRoot string
}

// LoadDocument reads and parses one source. Every failure is a problem with
// that file, returned as a *document.ParseError naming it. A source whose
// kind its content decides, and whose content no kind recognises, is not
// an input: LoadDocument returns nil for it and no error, unless it was
// named explicitly (then a fallback kind applies).
func LoadDocument(src Source, opts LoadOptions) (*document.Document, *document.ParseError) {
	limit := opts.MaxFileBytes
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	data, err := readCapped(src.File, limit)
	if err != nil {
		return nil, &document.ParseError{Path: src.Path, Message: err.Error()}
	}
	kind := src.Kind
	if kind == "" {
		kind = sniffKind(data)
	}
	if kind == "" && src.Explicit {
		kind = fallbackKind(src.File)
	}
	if kind == "" {
		return nil, nil
	}
	if src.Target != "" {
		opts.Target = src.Target
	}
	doc, err := Parse(kind, src.Path, data, opts)
	if err != nil {
		pe, ok := err.(*document.ParseError)
		if !ok {
			pe = &document.ParseError{Path: src.Path, Message: err.Error()}
		}
		return nil, pe
	}
	return doc, nil
}

// Parse turns bytes of a known kind into a document.
func Parse(kind document.Kind, path string, data []byte, opts LoadOptions) (*document.Document, error) {
	k, ok := LookupKind(string(kind))
	if !ok {
		return nil, &document.ParseError{Path: path, Message: fmt.Sprintf("input kind %q is not supported for files", kind)}
	}
	return k.Parse(path, data, ParseOptions{
		Target:   opts.Target,
		MaxBytes: opts.MaxFileBytes,
		ReadFile: repoReader(opts.RepoRoot, opts.MaxFileBytes),
	})
}

// readCapped reads at most limit bytes and fails, naming the limit, when
// the file is larger: a huge input must not exhaust memory.
func readCapped(file string, limit int) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %w", unwrapPathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %w", unwrapPathError(err))
	}
	if len(data) > limit {
		return nil, fmt.Errorf("file is larger than the %d-byte limit for one input", limit)
	}
	return data, nil
}

// repoReader reads repository-relative, slash-separated paths below root,
// capped in size, through os.Root: neither ".." nor a symbolic link can make
// a workflow read a file outside the repository.
func repoReader(root string, limit int) func(string) ([]byte, error) {
	if root == "" {
		return nil
	}
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	return func(name string) ([]byte, error) {
		r, err := os.OpenRoot(root)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		f, err := r.Open(filepath.FromSlash(path.Clean(name)))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
		if err != nil {
			return nil, err
		}
		if len(data) > limit {
			return nil, fmt.Errorf("%s is larger than the %d-byte limit", name, limit)
		}
		return data, nil
	}
}
