package dockerfile

import (
	"testing"

	"github.com/devflow/dwf-policy/internal/corpus"
)

func BenchmarkParse(b *testing.B) {
	srcs := make([][]byte, 100)
	for i := range srcs {
		srcs[i] = []byte(corpus.Dockerfile(i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse("Dockerfile", srcs[i%len(srcs)], Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCorpusParses keeps the benchmark corpus honest: every file parses.
func TestCorpusParses(t *testing.T) {
	for i := range 200 {
		if _, err := Parse("Dockerfile", []byte(corpus.Dockerfile(i)), Options{}); err != nil {
			t.Fatalf("corpus file %d: %v\n%s", i, err, corpus.Dockerfile(i))
		}
	}
}
