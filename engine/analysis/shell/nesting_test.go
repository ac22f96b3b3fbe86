package shell

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

func TestCheckNesting(t *testing.T) {
	deep := func(open, mid, close string, n int) string {
		return strings.Repeat(open, n) + mid + strings.Repeat(close, n)
	}
	for _, tc := range []struct {
		name   string
		script string
		line   int  // 0: accepted
		chain  bool // MaxChain rather than MaxNesting
	}{
		{"plain", "apt-get update && apt-get install -y curl", 0, false},
		{"cmdsubst at the limit", deep("$(", "x", ")", MaxNesting), 0, false},
		{"cmdsubst past the limit", deep("$(", "x", ")", MaxNesting+1), 1, false},
		{"arithmetic counts twice", deep("$((", "1", "))", MaxNesting/2+1), 1, false},
		{"100k arithmetic", deep("$((", "1", "))", 100_000), 1, false},
		{"subshells", deep("(", "x", ")", 200), 1, false},
		{"groups", deep("{ ", "x", "; }", 200), 1, false},
		{"double quotes", deep(`"$(`, "x", `)"`, 60), 1, false},
		{"parameter expansions", deep("${a:-", "x", "}", 200), 1, false},
		{"if", deep("if x; then ", "x", "; fi", 200), 1, false},
		{"case", deep("case x in a) ", "x", ";; esac", 200), 1, false},
		{"sequential substitutions", strings.Repeat("echo $(echo $(x))\n", 10_000), 0, false},
		{"sequential blocks", strings.Repeat("if a; then { b; }; fi\n", 10_000), 0, false},
		{"sequential pipelines", strings.Repeat("a | b || c\n", 10_000), 0, false},
		{"and chain", strings.Repeat("a && ", MaxChain+1) + "b", 1, true},
		{"and chain over lines with comments", strings.Repeat("a && # next\n", MaxChain+1) + "b", MaxChain + 1, true},
		{"pipes", strings.Repeat("a | ", MaxChain+1) + "b", 1, true},
		{"time", strings.Repeat("time ", MaxChain+1) + "b", 1, true},
		{"functions", strings.Repeat("f() ", MaxChain+1) + "{ b; }", 1, true},
		{"braces as arguments do not close", strings.Repeat("{ echo }\n", 200), MaxNesting + 1, false},
		{"case patterns do not close", strings.Repeat("$( case x in a) ", 200), 1, false},
		{"line of the deep part", "echo a\necho b\n" + deep("$(", "x", ")", 200), 3, false},
		{"quoted heredoc is text", "cat <<'EOF'\n" + strings.Repeat("$(", 500) + "\nEOF\necho ok", 0, false},
		{"heredoc expands", "cat <<EOF\nit's\n" + strings.Repeat("$(", 200) + "\nEOF\n", 3, false},
		{"apostrophe in heredoc", "cat <<EOF\nit's\nEOF\n" + deep("( ", "x", " )", 200), 4, false},
		{"apostrophe in comment", "# it's\n" + deep("( ", "x", " )", 200), 2, false},
		{"escaped quote", `echo \'` + "\n" + deep("( ", "x", " )", 200), 2, false},
		{"shift is not a heredoc", "echo $(( 1 << 2 ))\n" + deep("( ", "x", " )", 200), 2, false},
		{"backquotes", "x=`echo \\`echo " + deep("$(", "x", ")", 200) + "\\``", 1, false},
		{"backquote unescaping", "x=`echo \\\\'`\n" + deep("( ", "x", " )", 200), 2, false},
		{"single quotes are text", "echo '" + strings.Repeat("$(", 500) + "'", 0, false},
		{"ansi-c quotes", `echo $'\'` + strings.Repeat("(", 500) + `'`, 0, false},
		{"comments count openers", "# " + strings.Repeat("(", 200), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNesting(tc.script)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("CheckNesting: %v", err)
				}
				return
			}
			var ne *NestingError
			if !errors.As(err, &ne) {
				t.Fatalf("CheckNesting = %v, want a *NestingError", err)
			}
			if ne.Line != tc.line || ne.Chain != tc.chain {
				t.Errorf("CheckNesting = line %d chain %v, want line %d chain %v (%v)", ne.Line, ne.Chain, tc.line, tc.chain, err)
			}
		})
	}
}

// astDepth is the deepest nesting of nodes in f.
func astDepth(f *syntax.File) int {
	depth, deepest := 0, 0
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			depth--
			return true
		}
		depth++
		deepest = max(deepest, depth)
		return true
	})
	return deepest
}

// checkAgainstParser fails when the parser nests script much more deeply
// than CheckNesting estimated: an estimate that is too low would let a
// deeper script through to the parser's recursion.
func checkAgainstParser(t *testing.T, script string) {
	t.Helper()
	var n nestScan
	if !n.scan(script, 0, 0, nil, false) {
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		return
	}
	// a level of nesting is at most a few nodes deep (Stmt, CallExpr,
	// Word, CmdSubst, ...)
	if d := astDepth(f); d > 8*(n.max+2) {
		t.Errorf("the AST of %q is %d deep, CheckNesting estimated %d", script, d, n.max)
	}
}

// pieces are what random scripts are made of: the constructs whose lexing
// decides what is code.
var pieces = []string{
	"$(", "$((", "(", "((", ")", "))", "{ ", " }", "${a:-", "}", "$[", "]", "[", "`", "\\`",
	"'", "\"", "$'", "\\", "#", " # c ", "\n", ";", ";;", "&", "&&", "||", "|", "|&",
	"<<E", "<<'E'", "<<-E", "\nE\n", "\n\tE\n", "<<<", "<(", ">(", ">&", "&>",
	"if ", "then ", "fi", "else ", "while ", "do ", "done", "for ", " in ", "case ", "esac",
	" a ", "b", "=", "1", " + ", "!", "time ", "f()", "function ", "[[ ", " ]]", " -a ",
}

func randomScript(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(40) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func TestCheckNestingAgainstParser(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 18))
	for range 20_000 {
		checkAgainstParser(t, randomScript(r))
	}
}

func FuzzCheckNesting(f *testing.F) {
	for _, s := range []string{
		"echo $(echo $(x))", "cat <<EOF\nit's $(a)\nEOF\n", "case x in a) (b);; esac",
		"x=`a \\`b\\``", "a && # c\nb", "echo $(( (1 << 2) ))", "f() { a | b; }",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		checkAgainstParser(t, script)
	})
}

// nestedLines is blocks of `echo $(` nested depth deep, one per line, up to
// about size bytes: the shape that printing every nested $(...) again, with
// its growing indentation, made cubic.
func nestedLines(depth, size int) string {
	block := strings.Repeat("echo $(\n", depth) + "x" + strings.Repeat("\n)", depth) + "\n"
	return strings.Repeat(block, max(1, size/len(block)))
}

func readerAllocs(t *testing.T, script string) uint64 {
	t.Helper()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	cmds, err := NewReader().Commands(script, nil)
	runtime.ReadMemStats(&m1)
	if err != nil || len(cmds) == 0 {
		t.Fatalf("Commands: %d commands, %v", len(cmds), err)
	}
	return m1.TotalAlloc - m0.TotalAlloc
}

// TestReaderLinear: words that keep a nested $(...) as written are sliced
// from the script, so reading a script costs about its size times its
// nesting, not the cube of its nesting (a 10 KB script took 2.6 GB).
func TestReaderLinear(t *testing.T) {
	small := readerAllocs(t, nestedLines(MaxNesting-1, 10<<10))
	large := readerAllocs(t, nestedLines(MaxNesting-1, 40<<10))
	t.Logf("allocated %d KiB for 10 KB, %d KiB for 40 KB", small>>10, large>>10)
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("4x the script allocates %.1fx the bytes (%d, then %d)", ratio, small, large)
	}
	if small > 16<<20 {
		t.Errorf("a 10 KB script allocates %d MiB", small>>20)
	}
	// a word is the text of its $(...) as written
	cmds, err := NewReader().Commands("echo $(cat  a |\n  wc -l) \"$( b )\"", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cmds[0].Words, "|"); got != "echo|$(cat  a |\n  wc -l)|$( b )" {
		t.Errorf("words %q", got)
	}
}

// TestReaderRefusesDeepScripts: 10 KB of nested $(echo ...) and 100,000
// nested $(( are refused before the parser runs; the second overflowed the
// Go stack, killing the process (and this test binary).
func TestReaderRefusesDeepScripts(t *testing.T) {
	for name, script := range map[string]string{
		"10 KB of $(echo":  strings.Repeat("echo $(", 10<<10/7) + "x" + strings.Repeat(")", 10<<10/7),
		"100,000 $((":      strings.Repeat("$((", 100_000) + "1" + strings.Repeat("))", 100_000),
		"in sh -c":         "sh -c '" + strings.Repeat("$((", 100_000) + "1" + strings.Repeat("))", 100_000) + "'",
		"in a later sh -c": "echo a; bash -c 'x' ; sh -c '" + strings.Repeat("(", 1000) + "'",
	} {
		t.Run(name, func(t *testing.T) {
			cmds, err := NewReader().Commands(script, nil)
			var ne *NestingError
			if !errors.As(err, &ne) || cmds != nil {
				t.Fatalf("Commands = %d commands, %v; want a *NestingError", len(cmds), err)
			}
		})
	}
}
