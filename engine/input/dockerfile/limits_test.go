package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// TestDocumentLimits: each limit on the document's size makes the file a
// ParseError at the line where it is crossed, naming the limit.
func TestDocumentLimits(t *testing.T) {
	// Stage k of a linear chain holds k+1 entries: the limit is crossed at
	// the first k with (k+1)(k+2)/2 > maxChainEntries, on line k+2.
	chainLine := 0
	for k := 0; chainLine == 0; k++ {
		if (k+1)*(k+2)/2 > maxChainEntries {
			chainLine = k + 2
		}
	}
	manyWords := "FROM alpine\n" + strings.Repeat("EXPOSE"+strings.Repeat(" 1", 999)+"\n", 200)
	envFan := "FROM alpine AS s0\nENV V=1" + func() string {
		var sb strings.Builder
		for i := range 999 {
			fmt.Fprintf(&sb, " V%d=1", i)
		}
		return sb.String()
	}() + "\n" + strings.Repeat("FROM s0\n", 200)
	var stages strings.Builder
	for i := range maxStages + 10 {
		fmt.Fprintf(&stages, "FROM alpine AS s%d\n", i)
	}
	// A script in a variable, run by sh -c on each line: 1,000 commands,
	// or one command of 1,000 words.
	commands := "FROM alpine\nENV A=\"" + strings.Repeat("a;", 1000) + "\"\n" + strings.Repeat("RUN sh -c \"$A\"\n", 200)
	words := "FROM alpine\nENV A=\"echo" + strings.Repeat(" x", 1000) + "\"\n" + strings.Repeat("RUN sh -c \"$A\"\n", 200)
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		// Line 1 holds 2 words, each later line 1,000.
		{"words", manyWords, 101, "more than 100000 words"},
		{"words in a RUN script", "FROM alpine\nRUN " + strings.Repeat(strings.Repeat("a;", 30000)+"\\\n", 4) + "a\n", 5, "more than 100000 words"},
		{"words in a JSON array", "FROM alpine\nRUN [" + strings.Repeat(strings.Repeat(`"a",`, 12000)+"\\\n", 10) + `"a"]` + "\n", 10, "more than 100000 words"},
		{"instructions", "FROM alpine\n" + strings.Repeat("RUN true\n", maxInstructions+10), maxInstructions + 1, "more than 10000 instructions"},
		{"stages", stages.String(), maxStages + 1, "more than 5000 FROM instructions"},
		{"chained stages", string(chainedStages(600)), chainLine, "more than 100000 entries"},
		{"20,000 chained stages", string(chainedStages(20000)), chainLine, "more than 100000 entries"},
		// Stage 0 holds 1,000 variables; each FROM s0 inherits them.
		{"inherited ENV", envFan, 102, "more than 100000, the limit"},
		// Each RUN has 1,001 commands (sh -c and the script's 1,000).
		{"RUN commands", commands, 22, "more than 20000 commands"},
		// Each RUN has 1,004 words (sh -c "…", then echo and 1,000 x).
		{"RUN command words", words, 102, "more than 100000 words"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pe := parseErr(t, tc.src)
			if pe.Location.Line != tc.line || !strings.Contains(pe.Message, tc.msg) || !strings.Contains(pe.Message, "the limit for one Dockerfile") {
				t.Errorf("got %q at line %d, want line %d and a message containing %q", pe.Message, pe.Location.Line, tc.line, tc.msg)
			}
		})
	}
}

// realistic is a large but plausible Dockerfile: 300 stages, each built on
// the one before (a linear chain, the worst case for chains), with ARGs,
// ENVs, RUNs, COPYs and a USER; 5,000 instructions in all.
func realistic() string {
	var sb strings.Builder
	sb.WriteString("# syntax=docker/dockerfile:1\nARG BASE=debian:12\nARG VERSION=1.2.3\n")
	n := 2
	for i := range 300 {
		if i == 0 {
			sb.WriteString("FROM ${BASE} AS s0\n")
		} else {
			fmt.Fprintf(&sb, "FROM s%d AS s%d\n", i-1, i)
		}
		fmt.Fprintf(&sb, "ARG VERSION\nARG TARGET%d=/opt/app%d\nENV APP%d_HOME=${TARGET%d} PATH=/opt/app%d/bin:$PATH\n", i, i, i, i, i)
		fmt.Fprintf(&sb, "WORKDIR /src/%d\nCOPY --chown=1001:1001 go.mod go.sum ./\n", i)
		fmt.Fprintf(&sb, "RUN --mount=type=cache,target=/root/.cache apt-get update && apt-get install -y --no-install-recommends curl ca-certificates git make gcc && rm -rf /var/lib/apt/lists/*\n")
		fmt.Fprintf(&sb, "RUN <<EOF\nset -eux\ncurl -fsSL https://example.com/v${VERSION}/tool%d.tar.gz | tar -xz -C /opt\nchmod +x /opt/tool%d\nEOF\n", i, i)
		fmt.Fprintf(&sb, "RUN groupadd -g 10%02d app%d && useradd -u 10%02d -g app%d -m app%d\n", i%100, i, i%100, i, i)
		fmt.Fprintf(&sb, "COPY . .\nRUN make build-%d && make test-%d && cp bin/app /opt/app%d/bin/\n", i, i, i)
		fmt.Fprintf(&sb, "LABEL org.opencontainers.image.title=\"app %d\" org.opencontainers.image.version=$VERSION\n", i)
		fmt.Fprintf(&sb, "EXPOSE 80%02d\n", i%100)
		fmt.Fprintf(&sb, "USER app%d\nENTRYPOINT [\"/usr/bin/tini\", \"--\", \"/opt/app%d/bin/app\"]\nCMD [\"serve\"]\n", i, i)
		n += 16
	}
	for n < 5000 {
		fmt.Fprintf(&sb, "RUN echo step %d\n", n)
		n++
	}
	return sb.String()
}

func TestRealisticWithinLimits(t *testing.T) {
	doc := mustParse(t, realistic(), Options{})
	if n := len(doc["instructions"].([]any)); n != 5000 {
		t.Errorf("%d instructions, want 5000", n)
	}
	if n := len(doc["stages"].([]any)); n != 300 {
		t.Errorf("%d stages, want 300", n)
	}
	if n := len(get(doc, "final", "chain").([]any)); n != 300 {
		t.Errorf("final chain has %d entries, want 300", n)
	}
	if got := get(doc, "final", "user", "value"); got != "app299" {
		t.Errorf("final user = %v", got)
	}
	if got := get(doc, "stages", 299, "env", "APP0_HOME"); got != "/opt/app0" {
		t.Errorf("stage 299 APP0_HOME = %v", got)
	}
}
