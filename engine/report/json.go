package report

import (
	"encoding/json"
	"io"

	"github.com/devflow/dwf-policy/engine/finding"
)

// jsonReport is the stable shape of --format json.
type jsonReport struct {
	Tool     string            `json:"tool"`
	Version  string            `json:"version"`
	Findings []finding.Finding `json:"findings"`
	Summary  Summary           `json:"summary"`
}

func formatJSON(w io.Writer, r *Report) error {
	out := jsonReport{
		Tool:     r.Tool.Name,
		Version:  r.Tool.Version,
		Findings: make([]finding.Finding, len(r.Findings)),
		Summary:  Summarize(r),
	}
	// A finding without a known position (a FIFO given as a file, a custom
	// rule that returns no location) sits at line 1, as every other format
	// places it; line 0 would send editors and tools to a line that is not there.
	for i, f := range r.Findings {
		f.Location = f.Location.Normalized()
		out.Findings[i] = f
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
