// Package memsize estimates the memory cached values hold, for the byte
// budgets of the servers' caches. The figures are estimates: close enough
// to bound a cache within a small factor, cheap enough to compute once per
// value cached.
package memsize

import (
	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
)

// Per-item overheads, measured loosely on amd64: a Go string or slice
// header, a map entry, a Finding with its fixed fields.
const (
	nodeBytes    = 48
	findingBytes = 256
)

// Findings estimates what fs holds.
func Findings(fs []finding.Finding) int64 {
	n := int64(len(fs)) * findingBytes
	for _, f := range fs {
		n += int64(len(f.RuleID) + len(f.Message) + len(f.Path) + len(f.Subject) + len(f.Fingerprint) + len(f.SecuritySeverity))
		for _, s := range f.Suppressions {
			n += nodeBytes + int64(len(s.Kind)+len(s.Justification))
		}
	}
	return n
}

// Report estimates what the judgement of an image's vulnerability report
// holds: thousands of findings for a large report.
func Report(r *check.ImageReport) int64 {
	n := Findings(r.Findings)
	for _, note := range r.Notes {
		n += nodeBytes + int64(len(note))
	}
	return n
}

// Value estimates what a decoded JSON value (maps, slices, strings,
// numbers, booleans) holds.
func Value(v any) int64 {
	switch v := v.(type) {
	case map[string]any:
		n := int64(nodeBytes)
		for k, e := range v {
			n += nodeBytes + int64(len(k)) + Value(e)
		}
		return n
	case []any:
		n := int64(nodeBytes)
		for _, e := range v {
			n += nodeBytes + Value(e)
		}
		return n
	case []string:
		n := int64(nodeBytes)
		for _, e := range v {
			n += nodeBytes + int64(len(e))
		}
		return n
	case string:
		return nodeBytes + int64(len(v))
	default:
		return nodeBytes
	}
}
