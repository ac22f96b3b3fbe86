package astcodec

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// dockerfileModules are what a check of one Dockerfile compiles.
var dockerfileModules = []string{"policies/dockerfile/cache_mounts.rego", "policies/dockerfile/non_root_user.rego", "policies/dockerfile/pinned_base_image.rego", "policies/dockerfile/tini_entrypoint.rego", "policies/dockerfile/uid_1001.rego", "policies/lib/dockerfile.rego"}

// BenchmarkParse is OPA parsing the modules a check of one Dockerfile
// compiles, for comparison with BenchmarkDecode.
func BenchmarkParse(b *testing.B) {
	srcs := sources(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, name := range dockerfileModules {
			if _, err := ast.ParseModuleWithOpts(name, srcs[name], ast.ParserOptions{RegoVersion: ast.RegoV1}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecode decodes the same modules.
func BenchmarkDecode(b *testing.B) {
	srcs := sources(b)
	data := map[string][]byte{}
	for _, name := range dockerfileModules {
		d, err := Encode(parse(b, name, srcs[name]), []byte(srcs[name]))
		if err != nil {
			b.Fatal(err)
		}
		data[name] = d
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, name := range dockerfileModules {
			if _, err := Decode(data[name], name, []byte(srcs[name])); err != nil {
				b.Fatal(err)
			}
		}
	}
}
