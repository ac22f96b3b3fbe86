package dockerfile

import (
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChainedStages(t *testing.T) {
	const n = 400 // 80,200 chain entries, within maxChainEntries
	doc := mustParse(t, string(chainedStages(n)), Options{})
	user, _ := get(doc, "final", "user").(map[string]any)
	if user["value"] != "1001" || user["inherited"] != true || user["uid"] != int64(1001) {
		t.Errorf("final user = %v, want 1001 inherited from stage 0", user)
	}
	chain, _ := get(doc, "final", "chain").([]any)
	if len(chain) != n || chain[0] != 0 || chain[n-1] != n-1 {
		t.Fatalf("final chain has %d entries, want 0..%d", len(chain), n-1)
	}
	for i, c := range chain {
		if c != i {
			t.Fatalf("final chain[%d] = %v", i, c)
		}
	}
	if got := get(doc, "stages", n/2, "chain"); len(got.([]any)) != n/2+1 {
		t.Errorf("stage %d chain has %d entries, want %d", n/2, len(got.([]any)), n/2+1)
	}
}

// TestChainsAndEnvShared: stages share their parent's chain and ENV, and a
// child's own ENV or sibling never shows through.
func TestChainsAndEnvShared(t *testing.T) {
	src := `FROM alpine AS a
ENV X=1
FROM a AS b
ENV Y=2
FROM a AS c
FROM b AS d
ENV X=3
FROM c AS e
FROM e AS f
ENV Z=4
FROM S\u212Aip
FROM ſ0
`
	src = strings.ReplaceAll(src, `\u212A`, "\u212A")
	src = "FROM busybox AS skip\nFROM alpine AS s0\n" + src
	doc := mustParse(t, src, Options{})
	stages, _ := doc["stages"].([]any)
	var chains []any
	var envs []any
	for _, s := range stages {
		chains = append(chains, s.(map[string]any)["chain"])
		envs = append(envs, s.(map[string]any)["env"])
	}
	wantChains := []any{
		[]any{0}, []any{1},
		[]any{2}, []any{2, 3}, []any{2, 4}, []any{2, 3, 5}, []any{2, 4, 6}, []any{2, 4, 6, 7},
		[]any{0, 8}, []any{1, 9},
	}
	if d := cmp.Diff(wantChains, chains); d != "" {
		t.Errorf("chains (-want +got):\n%s", d)
	}
	e := map[string]any{}
	wantEnvs := []any{
		e, e,
		map[string]any{"X": "1"}, map[string]any{"X": "1", "Y": "2"}, map[string]any{"X": "1"},
		map[string]any{"X": "3", "Y": "2"}, map[string]any{"X": "1"}, map[string]any{"X": "1", "Z": "4"},
		e, e,
	}
	if d := cmp.Diff(wantEnvs, envs); d != "" {
		t.Errorf("envs (-want +got):\n%s", d)
	}
}

// TestLinearParse guards against quadratic regressions: ten times the input
// may allocate about ten times the bytes, far from a hundred.
func TestLinearParse(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocation")
	}
	for _, tc := range []struct {
		name string
		gen  func(int) []byte
		n    int
	}{
		{"chained stages", chainedStages, 40},
		{"global and stage ARGs", manyArgs, 450},
		{"RUN lines", manyRuns, 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			small, large := allocated(t, tc.gen(tc.n)), allocated(t, tc.gen(10*tc.n))
			if ratio := float64(large) / float64(small); ratio > 20 {
				t.Errorf("10x the input allocates %.0fx the bytes (%d, then %d)", ratio, small, large)
			}
			if large > 200<<20 && !raceEnabled {
				t.Errorf("%d lines allocate %d bytes", 10*tc.n, large)
			}
		})
	}
}

func allocated(t *testing.T, src []byte) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Parse("Dockerfile", src, Options{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
