package kubernetes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/devflow/dwf-policy/engine/analysis/yamlpos"
	"github.com/devflow/dwf-policy/engine/document"
)

// maxJSONDepth caps the nesting of a JSON object, as encoding/json does.
const maxJSONDepth = 10000

// ParseJSON reads one Kubernetes object written as JSON, as the apiserver
// sends it in an AdmissionReview. The document is the one Parse gives for
// the object indented by json.Indent with two spaces (its Source), positions
// and problems included, without the YAML parser: the node tree Parse reads
// is built by a JSON scanner over the indented text, with the positions,
// styles and tags the YAML parser gives JSON, and read by the same code. At
// admission the YAML parse was a seventh of a warm review's CPU.
//
// JSON that YAML cannot read (a surrogate pair written as \u escapes, a key
// longer than YAML's 1024-character limit on implicit keys) is read here,
// as encoding/json reads it.
func ParseJSON(name string, raw []byte, opts Options) (doc *document.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("parsing Kubernetes object %s: internal error: %v", name, r)
		}
	}()
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(raw) > limit {
		return nil, &document.ParseError{Path: name, Message: fmt.Sprintf("manifest is more than the %d-byte limit", limit)}
	}
	var buf bytes.Buffer
	buf.Grow(2 * len(raw))
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, &document.ParseError{Path: name, Message: "could not parse as JSON: " + err.Error()}
	}
	src := buf.Bytes()
	if len(src) > limit {
		return nil, &document.ParseError{Path: name, Message: fmt.Sprintf("manifest is %d bytes, more than the %d-byte limit", len(src), limit)}
	}
	b := &builder{t: yamlpos.New(src), path: name}
	s := &jsonScanner{src: src, line: 1, col: 1}
	s.space()
	top, err := s.value(0)
	if err != nil {
		return nil, b.scanError(s, err)
	}
	root := &yaml.Node{Kind: yaml.DocumentNode, Line: 1, Column: 1, Content: []*yaml.Node{top}}
	return b.document(src, []*yaml.Node{root})
}

// errTooDeep is JSON nested past maxJSONDepth.
var errTooDeep = errors.New("nested too deep")

// scanError is a ParseError at the scanner's position.
func (b *builder) scanError(s *jsonScanner, err error) *document.ParseError {
	return &document.ParseError{Path: b.path, Message: "could not parse as JSON: " + err.Error(),
		Location: document.Location{Line: s.line, Column: s.col, EndLine: s.line, EndColumn: s.col}}
}

// jsonScanner reads JSON text into yaml.Nodes, keeping the 1-based line
// and column (in code points, as YAML counts them) of where it is.
type jsonScanner struct {
	src       []byte
	pos       int
	line, col int
}

func (s *jsonScanner) space() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case '\n':
			s.line++
			s.col = 1
		case ' ', '\t', '\r':
			s.col++
		default:
			return
		}
		s.pos++
	}
}

// next is the byte at the scanner's position, or 0 at the end.
func (s *jsonScanner) next() byte {
	if s.pos < len(s.src) {
		return s.src[s.pos]
	}
	return 0
}

// expect consumes c and the blanks after it.
func (s *jsonScanner) expect(c byte) error {
	if s.next() != c {
		return fmt.Errorf("expected %q", c)
	}
	s.pos++
	s.col++
	s.space()
	return nil
}

// value reads the value at the scanner's position and the blanks after it.
// Nodes carry what the YAML parser gives JSON: flow style for objects and
// arrays, double-quoted style for strings, plain style for the rest (their
// tag resolved as YAML resolves a plain scalar).
func (s *jsonScanner) value(depth int) (*yaml.Node, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	n := &yaml.Node{Line: s.line, Column: s.col}
	switch c := s.next(); c {
	case '{', '[':
		n.Kind, n.Style, n.Tag = yaml.MappingNode, yaml.FlowStyle, "!!map"
		closing := byte('}')
		if c == '[' {
			n.Kind, n.Tag, closing = yaml.SequenceNode, "!!seq", ']'
		}
		s.pos++
		s.col++
		s.space()
		for first := true; s.next() != closing; first = false {
			if !first {
				if err := s.expect(','); err != nil {
					return nil, err
				}
			}
			if c == '{' {
				if s.next() != '"' {
					return nil, errors.New("expected a string key")
				}
				k, err := s.value(depth + 1)
				if err != nil {
					return nil, err
				}
				if err := s.expect(':'); err != nil {
					return nil, err
				}
				n.Content = append(n.Content, k)
			}
			v, err := s.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		s.pos++
		s.col++
	case '"':
		end, escaped := s.pos+1, false
		for end < len(s.src) && s.src[end] != '"' {
			if s.src[end] == '\\' {
				escaped = true
				end++
			} else if s.src[end] >= utf8.RuneSelf {
				escaped = true
			}
			end++
		}
		if end >= len(s.src) {
			return nil, errors.New("unterminated string")
		}
		tok := s.src[s.pos : end+1]
		n.Kind, n.Style, n.Tag = yaml.ScalarNode, yaml.DoubleQuotedStyle, "!!str"
		if escaped {
			if err := json.Unmarshal(tok, &n.Value); err != nil {
				return nil, err
			}
		} else {
			n.Value = string(tok[1 : len(tok)-1])
		}
		s.pos = end + 1
		s.col += utf8.RuneCount(tok)
	default:
		end := s.pos
		for end < len(s.src) && strings.IndexByte(",:]} \t\r\n", s.src[end]) < 0 {
			end++
		}
		if end == s.pos {
			return nil, errors.New("expected a value")
		}
		n.Kind, n.Value = yaml.ScalarNode, string(s.src[s.pos:end])
		n.Tag = n.ShortTag()
		s.col += end - s.pos
		s.pos = end
	}
	s.space()
	return n, nil
}
