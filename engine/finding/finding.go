// Package finding holds the results of a policy evaluation and the rule
// catalogue they refer to.
package finding

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
)

// RuleIDPattern is the shape of every rule ID: uppercase letters, then
// digits (DWF101, ACME7). Metadata, configuration keys and suppression
// comments are all checked against it.
var RuleIDPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*[0-9]+$`)

// Severity orders findings; the zero value is SeverityNone.
type Severity int

// Severities from least to most severe.
const (
	SeverityNone Severity = iota
	SeverityNote
	SeverityWarning
	SeverityError
)

// String returns the lowercase name used in metadata, flags and output.
func (s Severity) String() string {
	switch s {
	case SeverityNote:
		return "note"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "none"
}

// ParseSeverity parses error, warning, note or none.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "error":
		return SeverityError, nil
	case "warning":
		return SeverityWarning, nil
	case "note":
		return SeverityNote, nil
	case "none", "off":
		return SeverityNone, nil
	}
	return SeverityNone, fmt.Errorf("unknown severity %q (want error, warning, note or none)", s)
}

// MarshalText makes severities appear by name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Rule describes one check, read from a Rego package's METADATA.
type Rule struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"` // e.g. dockerfile/non-root-user
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Severity    Severity      `json:"severity"`
	Kind        document.Kind `json:"kind"`
	Help        string        `json:"help"` // the fix, markdown, with an example
	// Package is the Rego package path, e.g. data.dwf.dockerfile.non_root_user.
	Package string `json:"package"`
	// Builtin is false for rules loaded from --policy directories or bundles.
	Builtin bool `json:"builtin"`
	// Anchor is where a finding of an image rule is placed when the image
	// is checked together with the Dockerfile it is built from
	// (custom.anchor: user, entrypoint or from); "" means from.
	Anchor Anchor `json:"-"`
}

// Anchor names the Dockerfile instruction of the final stage that an image
// finding is placed at.
type Anchor string

// The anchors an image rule may declare.
const (
	AnchorFrom       Anchor = "from"       // the final stage's FROM: the image as a whole
	AnchorUser       Anchor = "user"       // the effective USER, else the FROM
	AnchorEntrypoint Anchor = "entrypoint" // the effective ENTRYPOINT, else the FROM
)

// Suppression records why a finding does not count.
type Suppression struct {
	// Kind is "inSource" (a comment in the file) or "external" (config).
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// Finding is one problem at one place.
type Finding struct {
	RuleID   string            `json:"rule_id"`
	Severity Severity          `json:"severity"`
	Message  string            `json:"message"`
	Path     string            `json:"path"`
	Location document.Location `json:"location,omitzero"` // omitted when no position is known (an image)
	// Subject optionally names what the finding is about beyond the file,
	// such as an image reference with digest and platform.
	Subject      string        `json:"subject,omitempty"`
	Suppressions []Suppression `json:"suppressions,omitempty"`
	// Fingerprint, when a rule gives one, identifies the finding across
	// changes to the file (a vulnerability in a rescanned image is the same
	// finding at another line); SARIF's partialFingerprints use it
	// instead of a hash of the line.
	Fingerprint string `json:"fingerprint,omitempty"`
	// SecuritySeverity is a CVSS-like score from 0.0 to 10.0 that the rule
	// gives for this finding (a vulnerability's CVSS base score), or "".
	SecuritySeverity string `json:"security_severity,omitempty"`
}

// Suppressed reports whether the finding is suppressed and so does not count
// for the exit code.
func (f Finding) Suppressed() bool { return len(f.Suppressions) > 0 }

// Compare orders findings by path, line, column, rule ID, then message.
func Compare(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Location.Line, b.Location.Line),
		cmp.Compare(a.Location.Column, b.Location.Column),
		cmp.Compare(a.RuleID, b.RuleID),
		cmp.Compare(a.Subject, b.Subject),
		cmp.Compare(a.Message, b.Message),
	)
}

// Sort sorts findings in the deterministic output order.
func Sort(fs []Finding) { slices.SortFunc(fs, Compare) }

// CountAtLeast returns how many unsuppressed findings are at or above min.
// min == SeverityNone counts nothing: it means "never fail".
func CountAtLeast(fs []Finding, min Severity) int {
	if min == SeverityNone {
		return 0
	}
	n := 0
	for _, f := range fs {
		if !f.Suppressed() && f.Severity >= min {
			n++
		}
	}
	return n
}
