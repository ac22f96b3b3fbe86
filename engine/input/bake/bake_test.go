package bake

import (
	"fmt"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/document"
)

// manyTargets is a bake file of n targets inheriting one base, in a group.
func manyTargets(n int) []byte {
	var b strings.Builder
	b.WriteString("variable \"REGISTRY\" {\n  default = \"r.example\"\n}\n\n")
	b.WriteString("target \"_common\" {\n  platforms = [\"linux/amd64\", \"linux/arm64\"]\n  cache-from = [\"type=gha\"]\n}\n\n")
	var names []string
	for i := range n {
		name := fmt.Sprintf("t%03d", i)
		names = append(names, `"`+name+`"`)
		fmt.Fprintf(&b, "target %q {\n  inherits = [\"_common\"]\n  tags = [\"${REGISTRY}/%s:latest\"]\n  output = [\"type=registry,compression=zstd\"]\n  cache-to = [\"type=gha,mode=max,scope=%s\"]\n}\n\n", name, name, name)
	}
	fmt.Fprintf(&b, "group \"default\" {\n  targets = [%s]\n}\n", strings.Join(names, ", "))
	return []byte(b.String())
}

func TestParsePositionsFollowInherits(t *testing.T) {
	src := "variable \"P\" {\n  default = \"linux/arm64\"\n}\n" +
		"target \"base\" {\n  platforms = [\"linux/amd64\", P]\n}\n" +
		"target \"app\" {\n  inherits = [\"base\"]\n  cache-from = [\"type=gha\"]\n}\n"
	doc, err := Parse("docker-bake.hcl", []byte(src), Options{Vars: map[string]string{"P": "linux/riscv64"}})
	if err != nil {
		t.Fatal(err)
	}
	var app map[string]any
	for _, tv := range doc.Input["targets"].([]any) {
		if tm := tv.(map[string]any); tm["name"] == "app" {
			app = tm
		}
	}
	pl := app["platforms"].(map[string]any)
	if got := fmt.Sprint(pl["values"]); got != "[linux/amd64 linux/riscv64]" {
		t.Errorf("platforms = %s, want the --var override", got)
	}
	if loc := document.LocationOf(pl["location"]); loc.Line != 5 || loc.Column != 3 {
		t.Errorf("platforms at %v, want 5:3 in the parent", loc)
	}
	if app["built"] != true {
		t.Error("app is not judged")
	}
	if d := app["dockerfile"].(map[string]any); d["value"] != "Dockerfile" || d["default"] != true {
		t.Errorf("dockerfile = %v, want buildx's default", d)
	}
}

func TestParseNeverReadsTheEnvironment(t *testing.T) {
	t.Setenv("TAG", "from-env")
	src := "variable \"TAG\" {\n  default = \"dev\"\n}\ntarget \"app\" {\n  target = TAG\n}\n"
	doc, err := Parse("docker-bake.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg := doc.Input["targets"].([]any)[0].(map[string]any)["target"].(map[string]any)
	if tg["value"] != "dev" {
		t.Errorf("target = %v, want the default: the environment is not read", tg["value"])
	}
}

func TestParseManyTargets(t *testing.T) {
	doc, err := Parse("docker-bake.hcl", manyTargets(200), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Input["targets"].([]any)); n != 201 {
		t.Errorf("%d targets, want 201", n)
	}
}

func BenchmarkParse200Targets(b *testing.B) {
	data := manyTargets(200)
	for b.Loop() {
		if _, err := Parse("docker-bake.hcl", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
