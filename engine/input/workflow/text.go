package workflow

import (
	"go.yaml.in/yaml/v4"

	"github.com/devflow/dwf-policy/engine/analysis/yamlpos"
	"github.com/devflow/dwf-policy/engine/document"
)

// text is the workflow's source with YAML node ranges as document
// locations; the range computation itself is engine/analysis/yamlpos.
type text struct {
	*yamlpos.Text
}

func newText(src []byte) *text { return &text{yamlpos.New(src)} }

func location(r yamlpos.Range) document.Location {
	return document.Location{Line: r.Line, Column: r.Column, EndLine: r.EndLine, EndColumn: r.EndColumn}
}

// loc returns the source range of node n as written at its position.
func (t *text) loc(n *yaml.Node) document.Location { return location(t.Range(n)) }

// keyLoc returns the range of a mapping key token.
func (t *text) keyLoc(k *yaml.Node) document.Location { return location(t.KeyRange(k)) }

// entryLoc returns the range of a `key: value` entry (see
// yamlpos.Text.EntryRange).
func (t *text) entryLoc(k, v *yaml.Node) document.Location { return location(t.EntryRange(k, v)) }

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node { return yamlpos.Deref(n) }
