package bake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildxPrint is the part of `buildx bake --print` the rules read.
type buildxPrint struct {
	Target map[string]struct {
		Context    string              `json:"context"`
		Dockerfile string              `json:"dockerfile"`
		Target     string              `json:"target"`
		Platforms  []string            `json:"platforms"`
		Output     []map[string]string `json:"output"`
		CacheFrom  []map[string]string `json:"cache-from"`
		CacheTo    []map[string]string `json:"cache-to"`
	} `json:"target"`
}

// effective is a target's effective settings in a comparable form.
type effective struct {
	Context, Dockerfile, Target string
	Platforms                   []string
	Output, CacheFrom, CacheTo  []map[string]string
}

// TestEquivalentToBuildx: for every bake fixture, the effective settings
// of each target buildx lists are what `docker buildx bake --print` (v0.38.2)
// printed for it, recorded by scripts/bake-equivalence.sh. This holds our
// inherits, group, matrix and default code to buildx's own.
func TestEquivalentToBuildx(t *testing.T) {
	records, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "bake-equivalence", "*", "*.json"))
	if err != nil || len(records) < 30 {
		t.Fatalf("%d records of buildx's evaluation (%v); run scripts/bake-equivalence.sh", len(records), err)
	}
	for _, rec := range records {
		rule := filepath.Base(filepath.Dir(rec))
		name := strings.TrimSuffix(filepath.Base(rec), ".json")
		t.Run(rule+"/"+name, func(t *testing.T) {
			var want buildxPrint
			data, err := os.ReadFile(rec)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "rules", rule, name))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(name, src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ours := map[string]effective{}
			for _, tv := range doc.Input["targets"].([]any) {
				tm := tv.(map[string]any)
				ours[tm["name"].(string)] = effectiveOf(tm)
			}
			for target, w := range want.Target {
				got, ok := ours[target]
				if !ok {
					t.Errorf("target %s: buildx evaluates it, we do not", target)
					continue
				}
				exp := effective{Context: w.Context, Dockerfile: w.Dockerfile, Target: w.Target,
					Platforms: w.Platforms, Output: w.Output, CacheFrom: w.CacheFrom, CacheTo: w.CacheTo}
				normalise(&exp)
				normalise(&got)
				if diff := cmp.Diff(exp, got); diff != "" {
					t.Errorf("target %s (-buildx +ours):\n%s", target, diff)
				}
			}
		})
	}
}

func effectiveOf(tm map[string]any) effective {
	str := func(k string) string {
		m, _ := tm[k].(map[string]any)
		s, _ := m["value"].(string)
		return s
	}
	e := effective{Context: str("context"), Dockerfile: str("dockerfile"), Target: str("target")}
	if p, ok := tm["platforms"].(map[string]any); ok {
		for _, v := range p["values"].([]any) {
			e.Platforms = append(e.Platforms, v.(string))
		}
	}
	entries := func(k string) []map[string]string {
		m, ok := tm[k].(map[string]any)
		if !ok {
			return nil
		}
		var out []map[string]string
		for _, ev := range m["entries"].([]any) {
			em := ev.(map[string]any)
			attrs := map[string]string{}
			for ak, av := range em["attrs"].(map[string]any) {
				attrs[ak], _ = av.(string)
			}
			if typ, _ := em["type"].(string); typ != "" {
				attrs["type"] = typ
			}
			out = append(out, attrs)
		}
		return out
	}
	e.Output, e.CacheFrom, e.CacheTo = entries("outputs"), entries("cache_from"), entries("cache_to")
	return e
}

// normalise treats an empty list and no list alike, and orders platforms
// (buildx keeps the order written; so do we, but duplicates may differ).
func normalise(e *effective) {
	if len(e.Platforms) == 0 {
		e.Platforms = nil
	}
	slices.Sort(e.Platforms)
	for _, l := range []*[]map[string]string{&e.Output, &e.CacheFrom, &e.CacheTo} {
		if len(*l) == 0 {
			*l = nil
		}
	}
}
