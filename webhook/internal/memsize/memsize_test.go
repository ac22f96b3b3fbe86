package memsize

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/finding"
)

// TestEstimatesFollowMemory: the estimates grow with what a value holds
// and stay within a small factor of its size as JSON, so that a byte
// budget means roughly what it says.
func TestEstimatesFollowMemory(t *testing.T) {
	doc := map[string]any{"config": map[string]any{"Env": []any{}, "Labels": map[string]any{}}}
	env := doc["config"].(map[string]any)
	for i := range 2000 {
		env["Env"] = append(env["Env"].([]any), strings.Repeat("x", 100)+string(rune('a'+i%26)))
		env["Labels"].(map[string]any)[strings.Repeat("k", 20)+string(rune(i))] = strings.Repeat("v", 50)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	// A decoded value takes at least its text, and Go's maps and
	// interfaces a few times more; not ten.
	est := Value(decoded)
	if est < int64(len(raw)) || est > 10*int64(len(raw)) {
		t.Errorf("Value: estimate %d bytes for %d bytes of JSON", est, len(raw))
	}
	if small := Value(map[string]any{"a": "b"}); small >= est/100 {
		t.Errorf("a one-key map is estimated at %d bytes against %d for 4,000 entries", small, est)
	}

	fs := make([]finding.Finding, 5000)
	for i := range fs {
		fs[i] = finding.Finding{RuleID: "DWF401", Message: strings.Repeat("m", 150), Path: "registry.example/team/app@sha256:" + strings.Repeat("0", 64), Fingerprint: strings.Repeat("f", 32)}
	}
	if got := Findings(fs); got < 5000*(150+100) || got > 5000*2000 {
		t.Errorf("Findings: %d bytes for 5,000 findings of ~250 bytes of text", got)
	}
	if Findings(nil) != 0 {
		t.Errorf("Findings(nil) = %d", Findings(nil))
	}
}
