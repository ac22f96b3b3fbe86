package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/internal/corpus"
	"github.com/devflow/dwf-policy/policies"
)

var (
	corpusOnce sync.Once
	corpusDir  string
	corpusErr  error

	manifestsOnce sync.Once
	manifestsDir  string
	manifestsErr  error
)

// benchCorpus writes the 2,000-file corpus once per test binary.
func benchCorpus(b *testing.B) string {
	corpusOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dwf-corpus-")
		if err != nil {
			corpusErr = err
			return
		}
		corpusDir, corpusErr = corpus.Write(dir, 2000)
	})
	if corpusErr != nil {
		b.Fatal(corpusErr)
	}
	return corpusDir
}

// BenchmarkCheckCorpus is the whole `dwf-policy check` over 2,000
// multi-stage Dockerfiles, in-process: compile, walk, read, parse,
// evaluate, format. Reports files/s.
func BenchmarkCheckCorpus(b *testing.B) {
	dir := benchCorpus(b)
	b.ReportAllocs()
	for b.Loop() {
		_, stderr, code := run(b, dir, "check", "--format", "json", "--fail-on", "none", ".")
		if code != ExitOK {
			b.Fatalf("exit %d: %s", code, stderr)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "files/s")
}

// benchManifests writes the 2,000-file manifest corpus once per test
// binary.
func benchManifests(b *testing.B) string {
	manifestsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dwf-manifests-")
		if err != nil {
			manifestsErr = err
			return
		}
		manifestsDir, manifestsErr = corpus.WriteManifests(dir, 2000)
	})
	if manifestsErr != nil {
		b.Fatal(manifestsErr)
	}
	return manifestsDir
}

// BenchmarkCheckManifests is BenchmarkCheckCorpus over 2,000 YAML and JSON
// files, about two thirds Kubernetes manifests and the rest other YAML
// that the content prefilter skips: walk, read, sniff, parse, evaluate,
// format. Reports files/s, side by side with the Dockerfile corpus.
func BenchmarkCheckManifests(b *testing.B) {
	dir := benchManifests(b)
	b.ReportAllocs()
	for b.Loop() {
		_, stderr, code := run(b, dir, "check", "--format", "json", "--fail-on", "none", ".")
		if code != ExitOK {
			b.Fatalf("exit %d: %s", code, stderr)
		}
	}
	b.ReportMetric(float64(2000*b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkEngineNew is the start-up cost of compiling the built-in
// policies and preparing the queries.
func BenchmarkEngineNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.New(context.Background(), engine.Options{
			Policies: []engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}},
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessSingleFile is what a pre-commit hook pays: process start
// to exit for one small Dockerfile, with a binary built like `make build`.
func BenchmarkProcessSingleFile(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "dwf-policy")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../../cmd/dwf-policy")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(repoRoot(b), "testdata", "demo", "worker", "Dockerfile.hardened")
	for b.Loop() {
		if out, err := exec.Command(bin, "check", file).CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}
