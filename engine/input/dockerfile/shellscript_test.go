package dockerfile

import (
	"runtime"
	"strings"
	"testing"
)

// TestDeepRunScripts: a RUN script nested beyond shell.MaxNesting makes the
// Dockerfile a ParseError at the RUN, naming the limit, instead of
// overflowing the Go stack in the shell parser (100,000 nested $(( killed
// the process) or taking gigabytes (10 KB of nested $(echo took 2.6 GB).
func TestDeepRunScripts(t *testing.T) {
	for name, script := range map[string]string{
		// 40,000 levels: each $ is a word, and 100,000 would pass maxWords.
		"arithmetic":            strings.Repeat("$((", 40_000) + "1" + strings.Repeat("))", 40_000),
		"command substitutions": strings.Repeat("echo $(", 10<<10/7) + "x" + strings.Repeat(")", 10<<10/7),
		"subshells":             strings.Repeat("(", 100_000) + "true" + strings.Repeat(")", 100_000),
		"groups":                strings.Repeat("{ ", 1000) + "true" + strings.Repeat("; }", 1000),
		"exec form":             `["sh", "-c", "` + strings.Repeat("$((", 1000) + `1"]`,
		"heredoc":               "<<EOF\n" + strings.Repeat("$((", 1000) + "1\nEOF",
		"and chain":             strings.Repeat("true && ", 6000) + "true",
	} {
		t.Run(name, func(t *testing.T) {
			pe := parseErr(t, "FROM alpine\nUSER app\n\nRUN "+continued(script)+"\nRUN true\n")
			if pe.Location.Line != 4 || !strings.Contains(pe.Message, "RUN script") || !strings.Contains(pe.Message, "more than") {
				t.Errorf("got %q at %+v, want line 4 and the limit", pe.Message, pe.Location)
			}
		})
	}
}

// continued splits script into lines under BuildKit's line limit, joined
// by continuation backslashes.
func continued(script string) string {
	var b strings.Builder
	for len(script) > 30000 {
		b.WriteString(script[:30000] + "\\\n")
		script = script[30000:]
	}
	b.WriteString(script)
	return b.String()
}

// TestNestedRunScriptsLinear: scripts within the limit are read in memory
// proportional to their size.
func TestNestedRunScriptsLinear(t *testing.T) {
	block := strings.Repeat("echo $(", 90) + "x" + strings.Repeat(")", 90)
	src := func(n int) string {
		return "FROM alpine\nRUN " + strings.Repeat(block+" && \\\n  ", n) + "true\n"
	}
	measure := func(s string) uint64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if _, err := Parse("Dockerfile", []byte(s), Options{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small, large := measure(src(10)), measure(src(40))
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("4x the script allocates %.1fx the bytes (%d, then %d)", ratio, small, large)
	}
	if large > 64<<20 {
		t.Errorf("a %d-byte RUN allocates %d MiB", len(src(40)), large>>20)
	}
}
