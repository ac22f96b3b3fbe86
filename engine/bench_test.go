package engine_test

import (
	"context"
	"testing"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/dockerfile"
	"github.com/devflow/dwf-policy/internal/corpus"
	"github.com/devflow/dwf-policy/policies"
)

func builtinEngine(b *testing.B) *engine.Engine {
	eng, err := engine.New(context.Background(), engine.Options{
		Policies: []engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return eng
}

// BenchmarkCompile is the start-up cost: parse, type-check and compile the
// built-in policies and prepare one query per kind.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		builtinEngine(b)
	}
}

// BenchmarkCompileDockerfile is what a check of Dockerfiles compiles: the
// rule catalogue from the embedded catalogue, then the Dockerfile rules and
// the library they import (engine.Options.Deferred).
func BenchmarkCompileDockerfile(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		eng, err := engine.New(ctx, engine.Options{
			Policies: []engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}},
			Deferred: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := eng.Prepare(ctx, document.KindDockerfile); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateOne is the Rego cost of one realistic Dockerfile with
// every built-in rule (document conversion included), single-threaded.
func BenchmarkEvaluateOne(b *testing.B) {
	eng := builtinEngine(b)
	docs := make([]*document.Document, 100)
	for i := range docs {
		d, err := dockerfile.Parse("Dockerfile", []byte(corpus.Dockerfile(i)), dockerfile.Options{})
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = d
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := eng.EvaluateOne(ctx, docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateParallel evaluates 2,000 documents with the engine's
// worker pool (GOMAXPROCS workers).
func BenchmarkEvaluateParallel(b *testing.B) {
	eng := builtinEngine(b)
	docs := make([]*document.Document, 2000)
	for i := range docs {
		d, err := dockerfile.Parse("Dockerfile", []byte(corpus.Dockerfile(i)), dockerfile.Options{})
		if err != nil {
			b.Fatal(err)
		}
		docs[i] = d
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Evaluate(context.Background(), docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(docs)*b.N)/b.Elapsed().Seconds(), "docs/s")
}
