package workflow

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// aliasedScript is a workflow whose first step's run: script (of about
// scriptBytes) is aliased by n more steps.
func aliasedScript(scriptBytes, n int) string {
	var b strings.Builder
	b.WriteString("on: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: &s |\n")
	header := b.Len()
	for i := 0; i == 0 || b.Len()-header < scriptBytes; i++ {
		fmt.Fprintf(&b, "          echo line %d && trivy image --exit-code 1 app:%d\n", i, i)
	}
	for range n {
		b.WriteString("      - run: *s\n")
	}
	return b.String()
}

// TestAliasedScriptBomb: one large run: script aliased 5,000 times (a
// 250 KB file) took minutes and 4.9 GB, since the alias limit counted
// nodes; it counts expanded bytes now.
func TestAliasedScriptBomb(t *testing.T) {
	src := aliasedScript(200<<10, 5000)
	if len(src) < 250<<10 {
		t.Fatalf("the workflow is %d bytes", len(src))
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	pe := parseError(t, src, Options{})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	limit := fmt.Sprintf("more than %d bytes", 16*len(src))
	if !strings.Contains(pe.Message, "aliases expand") || !strings.Contains(pe.Message, limit) {
		t.Errorf("message %q, want the limit (%s)", pe.Message, limit)
	}
	// the alias at which the expansion passes the limit: about the 80th
	if pe.Location.Line < 1000 || pe.Location.Line > len(strings.Split(src, "\n")) {
		t.Errorf("location %+v, want an alias", pe.Location)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 128<<20 || elapsed > 10*time.Second {
		t.Errorf("allocated %d MiB in %v for %d bytes", alloc>>20, elapsed, len(src))
	}
}

// TestAliasesWithinLimit: anchors used the way people use them, and a
// large script aliased a few times, are expanded.
func TestAliasesWithinLimit(t *testing.T) {
	for name, src := range map[string]string{
		"large script aliased 10 times":    aliasedScript(200<<10, 10),
		"small script aliased 5,000 times": aliasedScript(100, 5000),
	} {
		t.Run(name, func(t *testing.T) {
			doc, err := Parse("ci.yml", []byte(src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if steps := doc.Input["jobs"].([]any)[0].(map[string]any)["steps"].([]any); len(steps) < 11 {
				t.Errorf("%d steps", len(steps))
			}
		})
	}
}
