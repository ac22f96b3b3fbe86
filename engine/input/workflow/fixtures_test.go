package workflow

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fixtures under testdata/workflows/<RULE>/ are real workflows whose
// leading comment lines state what the directory's rule must report:
//
//	# want: DWF203 12:9   one per expected finding (line:column)
//	# want: none          no finding of the directory's rule
//	# root: name          optional: ReadFile reads from testdata/workflows/name
//	                      (default: testdata/workflows/repo)
//
// Only the directory's rule is compared; other rules may fire. Every
// document is also validated against engine/document/schemas/workflow.json.
// DWF206, a repository rule, uses directories of workflows instead; see
// TestRepositoryFixtures.

const fixtureRoot = "../../../testdata/workflows"

// minFixtures is the least number of firing and of passing fixtures each
// rule directory holds.
const minFixtures = 10

var (
	wantRE = regexp.MustCompile(`^#\s*want:\s*(?:(none)|(DWF\d{3})\s+(\d+):(\d+))\s*$`)
	rootRE = regexp.MustCompile(`^#\s*root:\s*(\S+)\s*$`)
)

type header struct {
	want []string // "DWF203 12:9", sorted
	none bool
	root string
}

func readHeader(t *testing.T, data []byte) header {
	t.Helper()
	var h header
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		if m := rootRE.FindStringSubmatch(line); m != nil {
			h.root = m[1]
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), "want") {
			continue
		}
		m := wantRE.FindStringSubmatch(line)
		switch {
		case m == nil:
			t.Fatalf("malformed header line %q", line)
		case m[1] == "none":
			h.none = true
		default:
			h.want = append(h.want, fmt.Sprintf("%s %s:%s", m[2], m[3], m[4]))
		}
	}
	if h.none == (len(h.want) > 0) {
		t.Fatalf("want exactly one of `# want: none` and `# want: DWFnnn L:C` lines")
	}
	slices.SortFunc(h.want, comparePos)
	return h
}

func comparePos(a, b string) int {
	pa, pb := strings.Fields(a), strings.Fields(b)
	if c := strings.Compare(pa[0], pb[0]); c != 0 {
		return c
	}
	la, ca := splitPos(pa[1])
	lb, cb := splitPos(pb[1])
	if la != lb {
		return la - lb
	}
	return ca - cb
}

func splitPos(s string) (int, int) {
	l, c, _ := strings.Cut(s, ":")
	a, _ := strconv.Atoi(l)
	b, _ := strconv.Atoi(c)
	return a, b
}

// readFileIn returns an Options.ReadFile rooted at dir.
func readFileIn(dir string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, fmt.Errorf("%s: not a local path", name)
		}
		return os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	}
}

func TestRuleFixtures(t *testing.T) {
	for _, rule := range []string{"DWF201", "DWF202", "DWF203", "DWF204", "DWF205"} {
		files, err := filepath.Glob(filepath.Join(fixtureRoot, rule, "*.yml"))
		if err != nil {
			t.Fatal(err)
		}
		firing, passing := 0, 0
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".yml")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var h header
			t.Run(rule+"/"+name, func(t *testing.T) {
				h = readHeader(t, data)
				root := "repo"
				if h.root != "" {
					root = h.root
				}
				doc, err := Parse(path.Join(".github/workflows", filepath.Base(file)), data, Options{ReadFile: readFileIn(filepath.Join(fixtureRoot, root))})
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				matchSchema(t, "workflow", doc.Input)
				got := []string{}
				var msgs []string
				for _, f := range evaluate(t, "workflow", doc.Input) {
					if f.ID == rule {
						got = append(got, f.String())
						msgs = append(msgs, f.String()+" "+f.Msg)
					}
				}
				want := h.want
				if want == nil {
					want = []string{}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("findings of %s (-want +got):\n%s\n%s", rule, diff, strings.Join(msgs, "\n"))
				}
			})
			if h.none {
				passing++
			} else if len(h.want) > 0 {
				firing++
			}
		}
		if firing < minFixtures || passing < minFixtures {
			t.Errorf("%s: %d firing and %d passing fixtures, want at least %d of each", rule, firing, passing, minFixtures)
		}
	}
}

// repositoryDocument mirrors the engine's repository document (the engine is not
// imported here: input packages never import the engine).
func repositoryDocument(docs []map[string]any, paths []string) map[string]any {
	items := make([]any, len(docs))
	for i, d := range docs {
		items[i] = map[string]any{"path": paths[i], "kind": "workflow", "input": d}
	}
	return map[string]any{"kind": "repository", "documents": items}
}

// TestRepositoryFixtures runs DWF206 over each directory under
// testdata/workflows/DWF206: its .yml files are the repository's
// workflows, and `want` lists `DWF206 <path> <line>:<col>` lines or `none`.
func TestRepositoryFixtures(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(fixtureRoot, "DWF206", "*"))
	if err != nil {
		t.Fatal(err)
	}
	firing, passing := 0, 0
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, "want"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{}
		for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			if l != "none" {
				want = append(want, l)
			}
		}
		if len(want) > 0 {
			firing++
		} else {
			passing++
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
			var docs []map[string]any
			var paths []string
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				p := ".github/workflows/" + filepath.Base(f)
				doc, err := Parse(p, data, Options{})
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				docs, paths = append(docs, doc.Input), append(paths, p)
			}
			repo := repositoryDocument(docs, paths)
			matchSchema(t, "repository", repo)
			got := []string{}
			var msgs []string
			for _, f := range evaluate(t, "repository", repo) {
				got = append(got, fmt.Sprintf("%s %s %d:%d", f.ID, f.Path, f.Line, f.Col))
				msgs = append(msgs, f.Msg)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("DWF206 (-want +got):\n%s\n%s", diff, strings.Join(msgs, "\n"))
			}
		})
	}
	if firing < minFixtures || passing < minFixtures {
		t.Errorf("DWF206: %d firing and %d passing cases, want at least %d of each", firing, passing, minFixtures)
	}
}

// fixtureSources returns every workflow under testdata/workflows.
func fixtureSources(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, pattern := range []string{"DWF*/*.yml", "DWF*/*/*.yml"} {
		files, err := filepath.Glob(filepath.Join(fixtureRoot, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	return out
}
