package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// TestJSONPlacesUnknownPositionsAtLineOne: a finding with no position (line
// 0) is reported at 1:1 in JSON as in every other format; known positions
// are kept as they are.
func TestJSONPlacesUnknownPositionsAtLineOne(t *testing.T) {
	t.Parallel()
	r := &Report{Tool: testTool, FilesChecked: 2, Findings: []finding.Finding{
		{RuleID: "DWF000", Severity: finding.SeverityError, Path: "fifo", Message: "not a regular file"},
		{RuleID: "DWF101", Severity: finding.SeverityError, Path: "Dockerfile", Message: "root",
			Location: document.Location{Line: 7, Column: 3, EndLine: 7, EndColumn: 12}},
	}}
	var buf bytes.Buffer
	if err := formatJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Findings []struct {
			Location document.Location `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	want := []document.Location{{Line: 1, Column: 1, EndLine: 1, EndColumn: 1}, {Line: 7, Column: 3, EndLine: 7, EndColumn: 12}}
	if len(got.Findings) != len(want) {
		t.Fatalf("got %d findings, want %d", len(got.Findings), len(want))
	}
	for i, w := range want {
		if got.Findings[i].Location != w {
			t.Errorf("finding %d at %+v, want %+v", i, got.Findings[i].Location, w)
		}
	}
	if r.Findings[0].Location.Line != 0 {
		t.Error("formatting changed the caller's findings")
	}
}

// TestJSONEmptyFindingsIsAnArray: no findings is [] (tools index into it), never null.
func TestJSONEmptyFindingsIsAnArray(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := formatJSON(&buf, &Report{Tool: testTool}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"findings": []`)) {
		t.Errorf("empty findings not an array:\n%s", buf.String())
	}
}
