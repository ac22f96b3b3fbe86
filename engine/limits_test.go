package engine

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/devflow/dwf-policy/engine/document"
)

func limitedEngine(t *testing.T, opts Options, files map[string]string) *Engine {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	opts.Policies = []PolicySource{{Name: "p", FS: fsys}}
	eng, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestEvalDeadlineNamesTheRule: a rule that runs past the deadline is an
// error naming it; a quick rule over the same document is not blamed, and
// the next document is still evaluated.
func TestEvalDeadlineNamesTheRule(t *testing.T) {
	eng := limitedEngine(t, Options{EvalTimeout: 100 * time.Millisecond, MemoryBudget: -1}, map[string]string{
		"slow.rego": rule("dwf.dockerfile.slow", "ACME1",
			`deny contains {"msg": "never"} if count({i | some i in numbers.range(1, 20000); some j in numbers.range(1, 20000); i * j == -1}) > 0`),
		"quick.rego": rule("dwf.dockerfile.quick", "ACME2", `deny contains {"msg": "quick"} if count(input.stages) > 0`),
	})
	start := time.Now()
	fs, err := eng.Evaluate(context.Background(), []*document.Document{dockerDoc("a/Dockerfile", 1), dockerDoc("b/Dockerfile", 1)})
	if err == nil {
		t.Fatal("no error for a rule past the deadline")
	}
	msg := err.Error()
	for _, want := range []string{"evaluating a/Dockerfile: rule ACME1 (dwf.dockerfile.slow) did not finish within the 100ms evaluation deadline", "evaluating b/Dockerfile"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "ACME2") {
		t.Errorf("the quick rule is blamed: %q", msg)
	}
	if len(fs) != 0 {
		t.Errorf("findings of a document whose evaluation failed: %v", fs)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s: the deadline does not end the evaluation", d)
	}
}

// TestMemoryBudgetStopsTheRun: a rule that builds a huge value is stopped
// with an error naming the budget, long before the machine runs out.
func TestMemoryBudgetStopsTheRun(t *testing.T) {
	eng := limitedEngine(t, Options{EvalTimeout: time.Minute, MemoryBudget: 64 << 20}, map[string]string{
		"big.rego": rule("dwf.dockerfile.big", "ACME1", `deny contains {"msg": "big"} if count(numbers.range(0, 100000000000)) > 0`),
	})
	_, err := eng.Evaluate(context.Background(), []*document.Document{dockerDoc("Dockerfile", 1)})
	if err == nil || !strings.Contains(err.Error(), "passed the 64 MiB memory budget") {
		t.Fatalf("err = %v, want the memory budget named", err)
	}
}

// TestLimitsLeaveOrdinaryRulesAlone: with the defaults, ordinary rules run
// as before.
func TestLimitsLeaveOrdinaryRulesAlone(t *testing.T) {
	eng := limitedEngine(t, Options{}, map[string]string{
		"a.rego": rule("dwf.dockerfile.a", "ACME1", `deny contains {"msg": "a"} if count(input.stages) > 1`),
	})
	fs, err := eng.Evaluate(context.Background(), []*document.Document{dockerDoc("Dockerfile", 2)})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %v, err %v", fs, err)
	}
}
