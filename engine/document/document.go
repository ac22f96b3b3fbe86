// Package document defines the normalised, positioned documents that every
// input kind is turned into before policies see them.
//
// A Document's Input is a tree of plain Go values (maps, slices, strings,
// numbers, booleans) that the engine hands to Rego as `input`. Its shape per
// kind is described by the JSON schemas in this package; those schemas are the
// public API that custom policies read.
package document

import "fmt"

// Kind names an input kind. Rego packages live under data.dwf.<kind>.
type Kind string

// The input kinds dwf-policy understands.
const (
	KindDockerfile  Kind = "dockerfile"
	KindWorkflow    Kind = "workflow"
	KindImage       Kind = "image"
	KindTrivyReport Kind = "trivy-report"
	KindBake        Kind = "bake"
	KindKubernetes  Kind = "kubernetes"
	// KindRepository is a synthetic document summarising every file of one
	// check, for rules that need to see across files.
	KindRepository Kind = "repository"
)

// RepositoryFile is a file of the repository that repository rules need
// to know of without reading it: a Dockerfile or a lockfile (the
// repository document's `files`).
type RepositoryFile struct {
	// Path is slash-separated and named as documents are (relative to
	// the working directory).
	Path string
	// Kind is RepositoryDockerfile or RepositoryLockfile.
	Kind string
}

// The kinds of RepositoryFile.
const (
	RepositoryDockerfile = "dockerfile"
	RepositoryLockfile   = "lockfile"
)

// Location is a source range. Lines and columns are 1-based and both ends are
// inclusive; columns count Unicode code points. The zero Location means "no
// position known" and reporters place it at line 1 of the file.
type Location struct {
	Line      int `json:"line"`
	Column    int `json:"column"`
	EndLine   int `json:"end_line"`
	EndColumn int `json:"end_column"`
}

// IsZero reports whether no position is known.
func (l Location) IsZero() bool { return l.Line == 0 }

// Normalized returns l with every field at least 1 and the end not before the
// start, so that reporters can emit it as is.
func (l Location) Normalized() Location {
	if l.Line < 1 {
		l.Line = 1
	}
	if l.Column < 1 {
		l.Column = 1
	}
	if l.EndLine < l.Line {
		l.EndLine = l.Line
	}
	if l.EndColumn < 1 || (l.EndLine == l.Line && l.EndColumn < l.Column) {
		l.EndColumn = l.Column
	}
	return l
}

// String formats the start as line:column.
func (l Location) String() string { return fmt.Sprintf("%d:%d", l.Line, l.Column) }

// Value returns the location as the map Rego sees.
func (l Location) Value() map[string]any {
	return map[string]any{
		"line":       l.Line,
		"column":     l.Column,
		"end_line":   l.EndLine,
		"end_column": l.EndColumn,
	}
}

// LocationOf reads a location back from the map form Value returns (as it
// is found in a document's Input); anything else is the zero Location.
func LocationOf(v any) Location {
	m, _ := v.(map[string]any)
	n := func(k string) int { i, _ := m[k].(int); return i }
	return Location{Line: n("line"), Column: n("column"), EndLine: n("end_line"), EndColumn: n("end_column")}
}

// Document is one parsed input, ready for evaluation.
type Document struct {
	Kind Kind
	// Path is the file path as reported (slash-separated, relative to the
	// directory the check ran in when possible), or an image reference.
	Path string
	// Source is the raw file content, kept for fingerprinting and inline
	// suppressions. Nil for documents that are not files (images).
	Source []byte
	// Input is what policies see as `input`.
	Input map[string]any
	// Subject names what the findings are about beyond the file, such as
	// the bake target that builds a Dockerfile; a finding that names no
	// subject of its own gets it.
	Subject string
	// Anchor, when set, is where every finding of the document is placed:
	// a Dockerfile written inline in a bake file is judged as a
	// Dockerfile and reported at its dockerfile-inline attribute.
	Anchor *Location
}
