package ruletest

// The fixtures under testdata/rules/<RULEID>/ are written from the rule
// contract (issue 2), not from the Rego, so they check the rules on cases the
// rules were not written from. Each fixture starts with a header of comment
// lines (parser directives such as `# escape=` must come first, so the
// header is every leading line that is a comment or blank):
//
//	# want: DWF101 12:1    one per expected finding of the directory's rule
//	# want: none           no finding of the directory's rule
//	# target: STAGE        optional: check with --target STAGE
//
// Only findings of the directory's rule are compared; other rules may fire.
//
// How the pipeline is driven: TestRuleFixtures calls the same packages, in
// the same order, as `dwf-policy check` (internal/cli runCheck):
// input.Discover -> input.LoadDocument -> engine.Run. Going direct lets the
// engine be compiled once for the whole test (the CLI compiles it on every
// call), keeps each fixture's failure attributed to that fixture, and needs
// no JSON round trip. So that the direct route cannot drift from what users
// run, TestCLIAgreesWithEngine runs the real CLI in-process
// (cli.Command.Main, --format json) once per distinct --target over all the
// fixtures and requires every finding, of every rule, to be identical.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/internal/cli"
	"github.com/devflow/dwf-policy/policies"
)

// fixtureDir is testdata/rules, relative to this package.
const fixtureDir = "../../testdata/rules"

// minFixtures is the least number of firing and of non-firing fixtures each
// rule directory must hold, so that coverage cannot silently shrink.
const minFixtures = 10

// rulesCovered are the rule directories that must exist.
var rulesCovered = []string{"DWF000", "DWF101", "DWF102", "DWF103", "DWF104", "DWF105"}

// knownBugs are fixtures that fail because of a bug in the parser
// (engine/input/dockerfile) or the rules (policies/), keyed by subtest name
// (<RULE>/<case>). They are reported with t.Log and skipped. Remove an entry
// when the bug is fixed: a known bug whose fixture passes fails the test.
var knownBugs = map[string]string{}

// pos is one finding as the fixtures describe it.
type pos struct {
	Rule   string
	Line   int
	Column int
}

func (p pos) String() string { return fmt.Sprintf("%s %d:%d", p.Rule, p.Line, p.Column) }

func comparePos(a, b pos) int {
	if c := strings.Compare(a.Rule, b.Rule); c != 0 {
		return c
	}
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return a.Column - b.Column
}

// fixture is one testdata/rules/<rule>/<name>.Dockerfile.
type fixture struct {
	Rule   string // directory name, e.g. DWF101
	Name   string // file name without .Dockerfile
	Path   string // path relative to fixtureDir, slash-separated
	File   string // absolute path
	Target string
	Want   []pos // sorted; empty for `# want: none`
}

func (f fixture) id() string { return f.Rule + "/" + f.Name }

var wantRE = regexp.MustCompile(`^#\s*want:\s*(?:(none)|(DWF\d{3})\s+(\d+):(\d+))\s*$`)
var targetRE = regexp.MustCompile(`^#\s*target:\s*(\S+)\s*$`)

// parseHeader reads the expectation comments of one fixture.
func parseHeader(rule string, data []byte) (want []pos, target string, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	none := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		if m := targetRE.FindStringSubmatch(line); m != nil {
			if target != "" {
				return nil, "", fmt.Errorf("line %d: second `# target:`", n)
			}
			target = m[1]
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), "want") {
			continue
		}
		m := wantRE.FindStringSubmatch(line)
		switch {
		case m == nil:
			return nil, "", fmt.Errorf("line %d: malformed %q (want `# want: DWFnnn LINE:COL` or `# want: none`)", n, line)
		case m[1] == "none":
			none = true
		default:
			if m[2] != rule {
				return nil, "", fmt.Errorf("line %d: %s expected in the %s directory", n, m[2], rule)
			}
			l, _ := strconv.Atoi(m[3])
			c, _ := strconv.Atoi(m[4])
			want = append(want, pos{Rule: m[2], Line: l, Column: c})
		}
	}
	// A fixture with binary content after its header may not scan to the
	// end; the header has been read by then.
	switch {
	case none && len(want) > 0:
		return nil, "", errors.New("both `# want: none` and findings")
	case !none && len(want) == 0:
		return nil, "", errors.New("no `# want:` comment")
	}
	slices.SortFunc(want, comparePos)
	return want, target, nil
}

// loadFixtures reads every fixture below fixtureDir.
func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	root, err := filepath.Abs(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "*", "*.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", root)
	}
	var out []fixture
	for _, file := range files {
		rule := filepath.Base(filepath.Dir(file))
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, target, err := parseHeader(rule, data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		rel, _ := filepath.Rel(root, file)
		out = append(out, fixture{
			Rule:   rule,
			Name:   strings.TrimSuffix(filepath.Base(file), ".Dockerfile"),
			Path:   filepath.ToSlash(rel),
			File:   file,
			Target: target,
			Want:   want,
		})
	}
	return out
}

var (
	engineOnce sync.Once
	sharedEng  *engine.Engine
	engineErr  error
)

// builtinEngine compiles the built-in policies once for the whole test
// binary, exactly as the CLI configures them.
func builtinEngine(t *testing.T) *engine.Engine {
	t.Helper()
	engineOnce.Do(func() {
		sharedEng, engineErr = engine.New(context.Background(), engine.Options{
			Policies: []engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}},
		})
	})
	if engineErr != nil {
		t.Fatalf("compiling built-in policies: %v", engineErr)
	}
	return sharedEng
}

// check runs files through the pipeline of `dwf-policy check`, with paths
// reported relative to workDir.
func check(ctx context.Context, eng *engine.Engine, workDir, target string, files ...string) ([]finding.Finding, error) {
	sources, err := input.Discover(files, input.DiscoverOptions{WorkDir: workDir})
	if err != nil {
		return nil, err
	}
	opts := input.LoadOptions{Target: target}
	return eng.Run(ctx, len(sources), func(i int) (*document.Document, error) {
		doc, perr := input.LoadDocument(sources[i], opts)
		if perr != nil {
			return nil, perr
		}
		return doc, nil
	})
}

func TestRuleFixtures(t *testing.T) {
	eng := builtinEngine(t)
	root, _ := filepath.Abs(fixtureDir)
	for _, fx := range loadFixtures(t) {
		t.Run(fx.id(), func(t *testing.T) {
			t.Parallel()
			findings, err := check(t.Context(), eng, root, fx.Target, fx.File)
			if err != nil {
				t.Fatalf("check %s: %v", fx.Path, err)
			}
			got := []pos{}
			var msgs []string
			for _, f := range findings {
				if f.RuleID != fx.Rule {
					continue
				}
				got = append(got, pos{Rule: f.RuleID, Line: f.Location.Line, Column: f.Location.Column})
				msgs = append(msgs, fmt.Sprintf("%d:%d %s", f.Location.Line, f.Location.Column, f.Message))
			}
			slices.SortFunc(got, comparePos)
			want := fx.Want
			if want == nil {
				want = []pos{}
			}
			diff := cmp.Diff(want, got)
			reason, known := knownBugs[fx.id()]
			switch {
			case diff == "" && known:
				t.Errorf("%s passes now: remove it from knownBugs (%s)", fx.id(), reason)
			case diff != "" && known:
				t.Logf("known bug: %s\n%s findings (-want +got):\n%s", reason, fx.Rule, diff)
				t.Skip("known bug, listed in knownBugs")
			case diff != "":
				t.Errorf("%s: %s findings mismatch (-want +got):\n%s\nmessages:\n  %s",
					fx.Path, fx.Rule, diff, strings.Join(msgs, "\n  "))
			}
		})
	}
}

// TestFixtureCoverage keeps at least minFixtures firing and minFixtures
// non-firing fixtures per rule.
func TestFixtureCoverage(t *testing.T) {
	firing := map[string]int{}
	quiet := map[string]int{}
	ids := map[string]bool{}
	for _, fx := range loadFixtures(t) {
		ids[fx.id()] = true
		if len(fx.Want) > 0 {
			firing[fx.Rule]++
		} else {
			quiet[fx.Rule]++
		}
	}
	for id := range knownBugs {
		if !ids[id] {
			t.Errorf("knownBugs names %s, which is not a fixture", id)
		}
	}
	for _, rule := range rulesCovered {
		t.Logf("%s: %d firing, %d non-firing", rule, firing[rule], quiet[rule])
		if firing[rule] < minFixtures || quiet[rule] < minFixtures {
			t.Errorf("%s: %d firing and %d non-firing fixtures, want at least %d of each",
				rule, firing[rule], quiet[rule], minFixtures)
		}
	}
}

// cliFinding is the part of a --format json finding the fixtures describe.
type cliFinding struct {
	Path   string
	Rule   string
	Line   int
	Column int
}

// TestCLIAgreesWithEngine runs the real command line over the fixtures, one
// in-process run per distinct --target, and requires the same findings (all
// rules, positions included) as the direct route of TestRuleFixtures.
func TestCLIAgreesWithEngine(t *testing.T) {
	eng := builtinEngine(t)
	root, _ := filepath.Abs(fixtureDir)
	byTarget := map[string][]string{}
	for _, fx := range loadFixtures(t) {
		byTarget[fx.Target] = append(byTarget[fx.Target], fx.Path)
	}
	for target, paths := range byTarget {
		t.Run("target="+target, func(t *testing.T) {
			args := []string{"dwf-policy", "check", "--format", "json", "--fail-on", "none"}
			if target != "" {
				args = append(args, "--target", target)
			}
			args = append(args, paths...)
			var stdout, stderr bytes.Buffer
			code := cli.Command{Stdout: &stdout, Stderr: &stderr, WorkDir: root}.Main(t.Context(), args)
			if code != cli.ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
			}
			var rep struct {
				Findings []struct {
					RuleID   string `json:"rule_id"`
					Path     string `json:"path"`
					Location struct {
						Line   int `json:"line"`
						Column int `json:"column"`
					} `json:"location"`
				} `json:"findings"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("decoding --format json: %v\n%s", err, stdout.String())
			}
			var got []cliFinding
			for _, f := range rep.Findings {
				got = append(got, cliFinding{Path: f.Path, Rule: f.RuleID, Line: f.Location.Line, Column: f.Location.Column})
			}

			files := make([]string, len(paths))
			for i, p := range paths {
				files[i] = filepath.Join(root, filepath.FromSlash(p))
			}
			direct, err := check(t.Context(), eng, root, target, files...)
			if err != nil {
				t.Fatal(err)
			}
			var want []cliFinding
			for _, f := range direct {
				want = append(want, cliFinding{Path: f.Path, Rule: f.RuleID, Line: f.Location.Line, Column: f.Location.Column})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CLI and engine disagree (-engine +cli):\n%s", diff)
			}
		})
	}
}
