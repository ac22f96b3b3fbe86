package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	root := repoRoot(t)
	out, stderr, code := run(t, root, "explain", "dwf101")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"DWF101  The final stage must not run as root\n",
		"dockerfile/non-root-user, severity error, input kind dockerfile\n",
		"\nThe image that is built",
		"\nHow to fix:\n",
		"\n    USER 1001\n", // the example, indented, without its fence
		"# dwf-policy:ignore DWF101 <reason>",
		"docs/rules.md#dwf101",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain DWF101 lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "```") {
		t.Errorf("explain shows markdown fences:\n%s", out)
	}
	if same, _, _ := run(t, root, "rules", "DWF101"); same != out {
		t.Errorf("rules DWF101 differs from explain DWF101:\n%s", same)
	}
	two, _, _ := run(t, root, "explain", "DWF203", "DWF101")
	if !strings.HasPrefix(two, "DWF203  ") || !strings.Contains(two, "\n\nDWF101  ") {
		t.Errorf("explain of two rules, in the order given:\n%s", two)
	}
	js, _, _ := run(t, root, "rules", "--format", "json", "DWF101")
	var rules []struct{ ID, Help string }
	if err := json.Unmarshal([]byte(js), &rules); err != nil || len(rules) != 1 || rules[0].ID != "DWF101" || rules[0].Help == "" {
		t.Errorf("rules --format json DWF101: %v %+v", err, rules)
	}
	for _, args := range [][]string{{"explain", "DWF999"}, {"rules", "DWF999"}, {"explain"}} {
		if _, stderr, code := run(t, root, args...); code != ExitError || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
