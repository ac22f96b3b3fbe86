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
		Findings: r.Findings,
		Summary:  Summarize(r),
	}
	if out.Findings == nil {
		out.Findings = []finding.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
