package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// chainedStages is `FROM alpine AS s0`, `FROM s0 AS s1`, ... with a USER in
// the first stage, so every later stage inherits it.
func chainedStages(n int) []byte {
	var sb strings.Builder
	sb.WriteString("FROM alpine AS s0\nUSER 1001\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&sb, "FROM s%d AS s%d\n", i-1, i)
	}
	return []byte(sb.String())
}

// manyArgs is n global ARG lines, then one stage that re-declares n ARGs.
func manyArgs(n int) []byte {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "ARG G%d=value%d\n", i, i)
	}
	sb.WriteString("FROM alpine\n")
	for i := range n {
		fmt.Fprintf(&sb, "ARG A%d=$G%d\n", i, i)
	}
	return []byte(sb.String())
}

// manyRuns is one stage with n RUN lines.
func manyRuns(n int) []byte {
	var sb strings.Builder
	sb.WriteString("FROM alpine\n")
	for i := range n {
		fmt.Fprintf(&sb, "RUN echo step %d\n", i)
	}
	return []byte(sb.String())
}

func benchParse(b *testing.B, src []byte) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("Dockerfile", src, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChainedStages(b *testing.B) {
	for _, n := range []int{100, 200, 400} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchParse(b, chainedStages(n)) })
	}
}

func BenchmarkManyArgs(b *testing.B) {
	for _, n := range []int{1500, 3000, 4500} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchParse(b, manyArgs(n)) })
	}
}

func BenchmarkManyRuns(b *testing.B) {
	for _, n := range []int{1000, 9000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchParse(b, manyRuns(n)) })
	}
}
