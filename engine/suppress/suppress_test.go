package suppress

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

func loc(line, col, endCol int) document.Location {
	return document.Location{Line: line, Column: col, EndLine: line, EndColumn: endCol}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Directive
	}{
		{"none", "FROM alpine:3\n# just a comment\n", nil},
		{"above", "FROM alpine:3\n# dwf-policy:ignore DWF104 the cache would hold secrets\nRUN apk add curl\n", []Directive{
			{Location: loc(2, 1, 55), Target: 3, IDs: []string{"DWF104"}, Reason: "the cache would hold secrets"},
		}},
		{"end of line", "RUN apk add curl # dwf-policy:ignore DWF104 tiny layer\n", []Directive{
			{Location: loc(1, 18, 54), Target: 1, IDs: []string{"DWF104"}, Reason: "tiny layer"},
		}},
		{"stacked above one line", "# dwf-policy:ignore DWF104 a\n  # dwf-policy:ignore DWF105 b\nFROM x\n", []Directive{
			{Location: loc(1, 1, 28), Target: 3, IDs: []string{"DWF104"}, Reason: "a"},
			{Location: loc(2, 3, 30), Target: 3, IDs: []string{"DWF105"}, Reason: "b"},
		}},
		{"several IDs", "#dwf-policy:ignore DWF104,DWF105, ACME7 vendored\nFROM x\n", []Directive{
			{Location: loc(1, 1, 48), Target: 2, IDs: []string{"DWF104", "DWF105", "ACME7"}, Reason: "vendored"},
		}},
		{"tab separated", "#\tdwf-policy:ignore\tDWF104\twhy\nFROM x\n", []Directive{
			{Location: loc(1, 1, 30), Target: 2, IDs: []string{"DWF104"}, Reason: "why"},
		}},
		{"YAML end of line, CRLF", "on: push\r\npermissions: write-all # dwf-policy:ignore DWF201 release job\r\n", []Directive{
			{Location: loc(2, 24, 61), Target: 2, IDs: []string{"DWF201"}, Reason: "release job"},
		}},
		{"columns count code points", "LABEL a=\"é\" # dwf-policy:ignore DWF1 r\n", []Directive{
			{Location: loc(1, 13, 38), Target: 1, IDs: []string{"DWF1"}, Reason: "r"},
		}},
		{"last line covers nothing", "FROM x\n# dwf-policy:ignore DWF104 r\n", []Directive{
			{Location: loc(2, 1, 28), Target: 0, IDs: []string{"DWF104"}, Reason: "r"},
		}},
		{"blank line below is the covered line", "# dwf-policy:ignore DWF104 r\n\nRUN x\n", []Directive{
			{Location: loc(1, 1, 28), Target: 2, IDs: []string{"DWF104"}, Reason: "r"},
		}},
		{"inside a word is not a comment", "RUN echo a#dwf-policy:ignore DWF104 r\n", nil},
		// JSON has no comments: a string is the author's of the content (an
		// image's file path in a Trivy report, a pod's command), not a
		// suppression.
		{"JSON string", "{\n  \"PkgPath\": \"opt/x # dwf-policy:ignore DWF401 unreachable/lib.jar\",\n  \"Severity\": \"CRITICAL\"\n}\n", nil},
		{"JSON with a byte order mark", "\xef\xbb\xbf[\"a # dwf-policy:ignore DWF401 r\"]\n", nil},
		{"YAML that is not JSON keeps its comments", "a: 1 # dwf-policy:ignore DWF601 r\n", []Directive{
			{Location: loc(1, 6, 33), Target: 1, IDs: []string{"DWF601"}, Reason: "r"},
		}},
		{"no reason", "# dwf-policy:ignore DWF104\nFROM x\n", []Directive{
			{Location: loc(1, 1, 26), Target: 2, Problem: "the suppression gives no reason: write it as `# dwf-policy:ignore DWF104 why this is acceptable`"},
		}},
		{"no reason names the rule written", "# dwf-policy:ignore DWF101\nFROM x\n", []Directive{
			{Location: loc(1, 1, 26), Target: 2, Problem: "the suppression gives no reason: write it as `# dwf-policy:ignore DWF101 why this is acceptable`"},
		}},
		{"no reason, several rules", "# dwf-policy:ignore DWF101,DWF205\nFROM x\n", []Directive{
			{Location: loc(1, 1, 33), Target: 2, Problem: "the suppression gives no reason: write it as `# dwf-policy:ignore DWF101,DWF205 why this is acceptable`"},
		}},
		{"space after the colon", "# dwf-policy: ignore DWF101 runs as root on purpose\nFROM x\n", []Directive{
			{Location: loc(1, 1, 51), Target: 2, Problem: "`# dwf-policy: ignore` is not a suppression comment, so it suppresses nothing; did you mean `# dwf-policy:ignore DWF101 runs as root on purpose`?"},
		}},
		{"upper case", "FROM x # DWF-POLICY:IGNORE DWF105 vendored\n", []Directive{
			{Location: loc(1, 8, 42), Target: 1, Problem: "`# DWF-POLICY:IGNORE` is not a suppression comment, so it suppresses nothing; did you mean `# dwf-policy:ignore DWF105 vendored`?"},
		}},
		{"another linter's word", "# dwf-policy:disable DWF104\nRUN apk add curl\n", []Directive{
			{Location: loc(1, 1, 27), Target: 2, Problem: "`# dwf-policy:disable` is not a suppression comment, so it suppresses nothing; did you mean `# dwf-policy:ignore DWF104`?"},
		}},
		{"no colon", "# dwf-policy ignore\nRUN apk add curl\n", []Directive{
			{Location: loc(1, 1, 19), Target: 2, Problem: "`# dwf-policy ignore` is not a suppression comment, so it suppresses nothing; did you mean `# dwf-policy:ignore DWF104 why this is acceptable`?"},
		}},
		{"a comment that mentions the tool", "# dwf-policy checks this file\n# dwf-policy: see docs/rules.md\nFROM x\n", nil},
		{"no rule", "# dwf-policy:ignore\nFROM x\n", []Directive{
			{Location: loc(1, 1, 19), Target: 2, Problem: "the suppression names no rule: write it as `# dwf-policy:ignore DWF104 why this is acceptable`"},
		}},
		{"lowercase ID", "# dwf-policy:ignore dwf104 because\nFROM x\n", []Directive{
			{Location: loc(1, 1, 34), Target: 2, Problem: "\"dwf104\" is not a rule ID: write it as `# dwf-policy:ignore DWF104 why this is acceptable`"},
		}},
		{"lowercase ID of another rule", "# dwf-policy:ignore dwf205 because\nFROM x\n", []Directive{
			{Location: loc(1, 1, 34), Target: 2, Problem: "\"dwf205\" is not a rule ID: write it as `# dwf-policy:ignore DWF205 why this is acceptable`"},
		}},
		{"misspelt directive", "# dwf-policy:ignored DWF104 because\nFROM x\n", []Directive{
			{Location: loc(1, 1, 35), Target: 2, Problem: "unknown directive \"dwf-policy:ignored\": write it as `# dwf-policy:ignore DWF104 why this is acceptable`"},
		}},
		{"misspelt directive names the rule written", "# dwf-policy:ignored DWF301 because\nFROM x\n", []Directive{
			{Location: loc(1, 1, 35), Target: 2, Problem: "unknown directive \"dwf-policy:ignored\": write it as `# dwf-policy:ignore DWF301 why this is acceptable`"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Parse([]byte(tc.src))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestApply(t *testing.T) {
	src := `FROM alpine
# dwf-policy:ignore DWF104 apk cache is tiny
RUN apk add curl
RUN apk add git # dwf-policy:ignore DWF104 one-off
# dwf-policy:ignore DWF105 pinned by renovate later
RUN apk add make
RUN apt-get install \
    gcc # dwf-policy:ignore DWF104 continuation line
# dwf-policy:ignore DWF104,DWF999 two IDs
RUN npm ci
# dwf-policy:ignore DWF103 turned off in config
USER root
# dwf-policy:ignore DWF101
`
	findings := []finding.Finding{
		{RuleID: "DWF105", Path: "Dockerfile", Location: loc(1, 1, 11)},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(3, 1, 16)},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(4, 1, 15)},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(6, 1, 16)},
		{RuleID: "DWF104", Path: "Dockerfile", Location: document.Location{Line: 7, Column: 1, EndLine: 8, EndColumn: 7}},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(10, 1, 10)},
		{RuleID: "DWF101", Path: "Dockerfile", Location: loc(12, 1, 9)},
		{RuleID: "DWF104", Path: "other/Dockerfile", Location: loc(3, 1, 16)},
	}
	rules := func(id string) (bool, bool) {
		switch id {
		case "DWF999":
			return false, false
		case "DWF103":
			return true, false
		}
		return true, true
	}
	got := Apply(findings, map[string][]byte{"Dockerfile": []byte(src), "other/Dockerfile": []byte("FROM x\n")},
		Options{UnusedSeverity: finding.SeverityNote, Rules: rules})
	in := func(reason string) []finding.Suppression {
		return []finding.Suppression{{Kind: "inSource", Justification: reason}}
	}
	unused := func(line, endCol int, msg string) finding.Finding {
		return finding.Finding{RuleID: "DWF002", Severity: finding.SeverityNote, Path: "Dockerfile", Location: loc(line, 1, endCol), Message: msg}
	}
	want := []finding.Finding{
		{RuleID: "DWF105", Path: "Dockerfile", Location: loc(1, 1, 11)},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(3, 1, 16), Suppressions: in("apk cache is tiny")},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(4, 1, 15), Suppressions: in("one-off")},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(6, 1, 16)}, // the comment above names DWF105
		{RuleID: "DWF104", Path: "Dockerfile", Location: document.Location{Line: 7, Column: 1, EndLine: 8, EndColumn: 7}, Suppressions: in("continuation line")},
		{RuleID: "DWF104", Path: "Dockerfile", Location: loc(10, 1, 10), Suppressions: in("two IDs")},
		{RuleID: "DWF101", Path: "Dockerfile", Location: loc(12, 1, 9)},
		{RuleID: "DWF104", Path: "other/Dockerfile", Location: loc(3, 1, 16)},
		unused(5, 51, "no DWF105 finding on line 6 to suppress: remove the suppression, or move it above or to the end of the offending line"),
		unused(9, 41, "DWF999 is not a rule ID, so this suppression suppresses nothing: correct the ID or remove the comment"),
		unused(13, 26, "the suppression gives no reason: write it as `# dwf-policy:ignore DWF101 why this is acceptable`"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestApplyWithoutDWF002(t *testing.T) {
	got := Apply(nil, map[string][]byte{"Dockerfile": []byte("# dwf-policy:ignore DWF104 r\nFROM x\n")}, Options{})
	if len(got) != 0 {
		t.Errorf("DWF002 turned off: got %+v", got)
	}
}

func TestFindingWithoutLocationIsLineOne(t *testing.T) {
	got := Apply([]finding.Finding{{RuleID: "ACME1", Path: "Dockerfile"}},
		map[string][]byte{"Dockerfile": []byte("FROM x # dwf-policy:ignore ACME1 whole file\n")}, Options{UnusedSeverity: finding.SeverityNote})
	if len(got) != 1 || !got[0].Suppressed() {
		t.Errorf("got %+v", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("# dwf-policy:ignore DWF104,DWF105 reason\nRUN x # dwf-policy:ignore DWF104 r\n"))
	f.Add([]byte("#dwf-policy:ignore"))
	f.Add([]byte("a #\t dwf-policy:ignore\t,,, x"))
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, d := range Parse(src) {
			if d.Location.Line < 1 || d.Location.Column < 1 || d.Location.EndColumn < d.Location.Column {
				t.Fatalf("bad location %+v", d.Location)
			}
			if d.Problem == "" && (len(d.IDs) == 0 || d.Reason == "") {
				t.Fatalf("well-formed directive without IDs or reason: %+v", d)
			}
		}
	})
}
