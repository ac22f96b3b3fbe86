package workflow

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The workflow rule fixtures live with every other rule's under
// testdata/rules/<RULE>/ and are run end to end, through the checker, by
// internal/ruletest. This package only checks that the parser turns each of
// them into a document its schema accepts: a workflow per file, and for a
// repository fixture (a directory holding .github/workflows) also the
// repository document the engine builds from them.

const (
	// rulesRoot holds the rule fixtures; rootsDir the repositories that
	// single-file fixtures are checked in (`# root: NAME`, default repo).
	rulesRoot = "../../../testdata/rules"
	rootsDir  = rulesRoot + "/roots"
	// goldenDir holds the realistic workflow whose document is pinned.
	goldenDir = "../../../testdata/workflows/realistic"
)

var rootRE = regexp.MustCompile(`^#\s*root:\s*(\S+)\s*$`)

// rootOf reads the `# root:` of a fixture's leading comments.
func rootOf(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			break
		}
		if m := rootRE.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return "repo"
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

// repositoryDocument mirrors the engine's repository document (the engine is not
// imported here: input packages never import the engine).
func repositoryDocument(docs []map[string]any, paths []string) map[string]any {
	items := make([]any, len(docs))
	for i, d := range docs {
		items[i] = map[string]any{"path": paths[i], "kind": "workflow", "input": d}
	}
	return map[string]any{"kind": "repository", "documents": items, "files": []any{}}
}

// workflowFixtures lists the workflow files of the DWF2xx fixtures: single
// files, and the workflows of repository fixtures.
func workflowFixtures(t testing.TB) (files, repoFiles []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(rulesRoot, "DWF2*", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	repoFiles, err = filepath.Glob(filepath.Join(rulesRoot, "DWF2*", "*", ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || len(repoFiles) == 0 {
		t.Fatalf("no workflow fixtures under %s", rulesRoot)
	}
	return files, repoFiles
}

// TestFixturesMatchSchema parses every workflow fixture as the checker
// would and validates its document against
// engine/document/schemas/workflow.json, and each repository fixture's
// repository document against repository.json.
func TestFixturesMatchSchema(t *testing.T) {
	files, repoFiles := workflowFixtures(t)
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			read := readFileIn(filepath.Join(rootsDir, rootOf(data)))
			doc, err := Parse(path.Join(".github/workflows", filepath.Base(file)), data, Options{ReadFile: read})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			matchSchema(t, "workflow", doc.Input)
		})
	}
	repos := map[string][]string{} // repository directory -> its workflows
	for _, f := range repoFiles {
		dir := filepath.Dir(filepath.Dir(filepath.Dir(f)))
		repos[dir] = append(repos[dir], f)
	}
	for dir, wfs := range repos {
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			var docs []map[string]any
			var paths []string
			for _, f := range wfs {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				p := ".github/workflows/" + filepath.Base(f)
				doc, err := Parse(p, data, Options{ReadFile: readFileIn(dir)})
				if err != nil {
					t.Fatalf("Parse %s: %v", p, err)
				}
				matchSchema(t, "workflow", doc.Input)
				docs, paths = append(docs, doc.Input), append(paths, p)
			}
			matchSchema(t, "repository", repositoryDocument(docs, paths))
		})
	}
}

// fixtureSources returns every workflow fixture's bytes.
func fixtureSources(t testing.TB) [][]byte {
	t.Helper()
	files, repoFiles := workflowFixtures(t)
	var out [][]byte
	for _, f := range append(files, repoFiles...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}
