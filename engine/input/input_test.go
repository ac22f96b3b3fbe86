package input

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/devflow/dwf-policy/engine/document"
)

func TestKindOf(t *testing.T) {
	tests := map[string]document.Kind{
		"Dockerfile":                   document.KindDockerfile,
		"build/Containerfile":          document.KindDockerfile,
		"Dockerfile.devflow":           document.KindDockerfile,
		"api.Dockerfile":               document.KindDockerfile,
		"api.dockerfile":               document.KindDockerfile,
		".github/workflows/ci.yml":     document.KindWorkflow,
		"x/.github/workflows/a.yaml":   document.KindWorkflow,
		".github/workflows/sub/a.yml":  "",
		"ci.yml":                       "",
		"README.md":                    "",
		"dockerfile":                   document.KindDockerfile,
		"CONTAINERFILE":                document.KindDockerfile,
		"Dockerfile-prod":              document.KindDockerfile,
		"api.Containerfile":            document.KindDockerfile,
		"Dockerfile.prod":              document.KindDockerfile,
		"svc/Dockerfile.debug":         document.KindDockerfile,
		"engine/dockerfile.go":         "",
		"policies/lib/dockerfile.rego": "",
		"dockerfile_test.go":           "",
		"Dockerfile.dockerignore":      "",
		"app/Dockerfile.dockerignore":  "",
		"Dockerfile.md":                "",
		"Dockerfile-prod.md":           "",
		"Dockerfile.json":              "",
		"Containerfile.txt":            "",
		"Dockerfile.j2":                "", // the content decides
		"Dockerfile.template":          "",
		"Dockerfiles":                  "",
		"my-dockerfile-notes":          "",
	}
	for path, want := range tests {
		if got := KindOf(path); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{
		"Dockerfile", "svc/api.Dockerfile", "svc/notes.txt", ".github/workflows/ci.yml",
		"vendor/x/Dockerfile", "node_modules/y/Dockerfile", ".git/Dockerfile", "deep/a/b/Containerfile",
	} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("FROM x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	explicit := filepath.Join(dir, "svc", "notes.txt")
	got, err := Discover([]string{dir, explicit, filepath.Join(dir, "missing")}, DiscoverOptions{
		WorkDir: dir,
		Exclude: func(p string) bool { return strings.HasPrefix(p, "deep/") },
	})
	if err == nil || !strings.Contains(err.Error(), "missing: no such file or directory") {
		t.Errorf("err = %v, want the missing path named", err)
	}
	var paths []string
	for _, s := range got {
		paths = append(paths, string(s.Kind)+":"+s.Path)
	}
	// An explicitly named file whose name says nothing is left for its
	// content to decide when it is loaded.
	want := []string{"workflow:.github/workflows/ci.yml", "dockerfile:Dockerfile", "dockerfile:svc/api.Dockerfile", ":svc/notes.txt"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("discovered (-want +got):\n%s", diff)
	}
}

func TestLoadDocumentErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		opts LoadOptions
		want string
	}{
		{"directory", dir, LoadOptions{}, "cannot read file: is a directory"},
		{"missing", filepath.Join(dir, "nope"), LoadOptions{}, "cannot read file: no such file or directory"},
		{"over the cap", big, LoadOptions{MaxFileBytes: 1024}, "larger than the 1024-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, perr := LoadDocument(Source{Path: "shown/path", File: tc.file, Kind: document.KindDockerfile}, tc.opts)
			if perr == nil || perr.Path != "shown/path" || !strings.Contains(perr.Message, tc.want) {
				t.Errorf("got %v, want a ParseError for shown/path containing %q", perr, tc.want)
			}
		})
	}
}

func TestRepoReaderStaysInside(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "trivy.yaml"), []byte("exit-code: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	read := repoReader(repo, 0)
	if data, err := read("trivy.yaml"); err != nil || string(data) != "exit-code: 1\n" {
		t.Errorf("trivy.yaml: %q, %v", data, err)
	}
	for _, name := range []string{"../" + filepath.Base(outside) + "/secret", "link", filepath.Join(outside, "secret")} {
		if data, err := read(name); err == nil {
			t.Errorf("read(%q) = %q, want an error: the file is outside the repository", name, data)
		}
	}
	if _, err := read("missing.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}

// TestLoadDetectsKind: a file whose name says nothing is recognised by its
// content; an explicitly named one that nothing recognises falls back
// (YAML to a workflow, anything else to a Dockerfile); a walked one is not
// an input at all.
func TestLoadDetectsKind(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	workflowBody := "name: ci\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n"
	tests := []struct {
		name    string
		src     Source
		want    document.Kind // "" means not an input
		wantErr string        // the parser of the kind expected refused it
	}{
		{"a workflow by content, named .txt", Source{File: write("pipeline.txt", workflowBody), Explicit: true}, document.KindWorkflow, ""},
		{"explicit YAML falls back to a workflow", Source{File: write("values.yaml", "replicas: 3\n"), Explicit: true}, "", "invalid workflow"},
		{"explicit other falls back to a Dockerfile", Source{File: write("notes.txt", "FROM alpine\n"), Explicit: true}, document.KindDockerfile, ""},
		{"a forced kind wins over content", Source{File: write("pipeline2.txt", workflowBody), Kind: document.KindDockerfile, Explicit: true}, "", "unknown instruction"},
		{"a walked file nothing recognises is skipped", Source{File: write("values2.yaml", "replicas: 3\n")}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.src.Path = filepath.Base(tc.src.File)
			doc, perr := LoadDocument(tc.src, LoadOptions{})
			var got document.Kind
			if doc != nil {
				got = doc.Kind
			}
			if got != tc.want {
				t.Errorf("kind %q, want %q", got, tc.want)
			}
			switch {
			case tc.wantErr == "" && perr != nil:
				t.Errorf("ParseError %v", perr)
			case tc.wantErr != "" && (perr == nil || !strings.Contains(perr.Message, tc.wantErr)):
				t.Errorf("ParseError %v, want one saying %q", perr, tc.wantErr)
			}
		})
	}
}

// TestSniffedWalk: a kind that declares SniffExtensions gets walked files
// with those extensions whose content it recognises, and only those.
func TestSniffedWalk(t *testing.T) {
	saved := fileKinds
	t.Cleanup(func() { fileKinds = saved })
	fileKinds = append([]FileKind{{
		Kind:            "probe",
		SniffExtensions: []string{".json"},
		Sniff:           func(data []byte) bool { return strings.Contains(string(data), `"probe"`) },
		Parse: func(p string, data []byte, _ ParseOptions) (*document.Document, error) {
			return &document.Document{Kind: "probe", Path: p, Source: data}, nil
		},
	}}, saved...)

	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a/x.json": `{"probe": 1}`, "a/y.json": `{"other": 1}`, "a/z.txt": `"probe"`})
	sources, err := Discover([]string{"."}, DiscoverOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, src := range sources {
		doc, perr := LoadDocument(src, LoadOptions{})
		if perr != nil {
			t.Fatalf("%s: %v", src.Path, perr)
		}
		if doc != nil {
			got = append(got, string(doc.Kind)+":"+doc.Path)
		}
	}
	if diff := cmp.Diff([]string{"probe:a/x.json"}, got); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
}

// TestFileKindsAreComplete: every kind of the table can be told apart,
// parsed and documented.
func TestFileKindsAreComplete(t *testing.T) {
	schemas, err := document.Schemas()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[document.Kind]bool{}
	for _, k := range FileKinds() {
		if seen[k.Kind] {
			t.Errorf("%s: listed twice", k.Kind)
		}
		seen[k.Kind] = true
		if k.Summary == "" || k.Parse == nil || (k.MatchPath == nil && k.Sniff == nil) {
			t.Errorf("%s: needs a Summary, Parse, and MatchPath or Sniff", k.Kind)
		}
		if _, ok := schemas[string(k.Kind)]; !ok {
			t.Errorf("%s: no schema in engine/document/schemas", k.Kind)
		}
		if len(k.SniffExtensions) > 0 && k.Sniff == nil {
			t.Errorf("%s: SniffExtensions without Sniff", k.Kind)
		}
	}
	if last := fileKinds[len(fileKinds)-1]; last.Fallback == nil || !last.Fallback("anything") {
		t.Errorf("the last kind must take every explicitly named file nothing else recognised")
	}
}

// TestTrivyReportsByContent: a walked .json file is a Trivy report when its
// content says so and is skipped silently otherwise; an explicitly named
// .json file that is not a report is a parse error saying so; a report may
// be larger than the cap other inputs are held to.
func TestTrivyReportsByContent(t *testing.T) {
	dir := t.TempDir()
	report := `{"SchemaVersion": 2, "ArtifactName": "app:1", "Results": null}`
	big := `{"SchemaVersion": 2, "ArtifactName": "app:1", "Description": "` + strings.Repeat("x", DefaultMaxFileBytes) + `", "Results": null}`
	huge := `{"SchemaVersion": 2, "Results": null, "Description": "` + strings.Repeat("x", 65<<20) + `"}`
	for name, content := range map[string]string{
		"scan/trivy.json": report, "scan/big.json": big, "scan/huge.json": huge,
		"web/package.json": `{"name": "web", "version": "1.0.0"}`, "web/broken.json": `{"name": `,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sources, err := Discover([]string{"."}, DiscoverOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, src := range sources {
		doc, perr := LoadDocument(src, LoadOptions{})
		switch {
		case perr != nil:
			got[src.Path] = "error: " + perr.Message
		case doc != nil:
			got[src.Path] = string(doc.Kind)
		}
	}
	want := map[string]string{
		"scan/big.json":   "trivy-report",
		"scan/huge.json":  "error: file is larger than the 67108864-byte limit for one input",
		"scan/trivy.json": "trivy-report",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("walk (-want +got):\n%s", diff)
	}

	explicit := Source{Path: "web/package.json", File: filepath.Join(dir, "web", "package.json"), Explicit: true}
	_, perr := LoadDocument(explicit, LoadOptions{})
	if perr == nil || !strings.Contains(perr.Message, "not a Trivy report") {
		t.Errorf("explicit package.json: got %v, want a parse error saying it is not a Trivy report", perr)
	}
}

// TestDockerfileByContent: a walked file whose name is ambiguous (a
// template suffix) is a Dockerfile when its first instruction, after
// comments and parser directives, is FROM or ARG; documentation and
// BuildKit's per-Dockerfile ignore file are never read as Dockerfiles.
func TestDockerfileByContent(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"a/Dockerfile.j2":           "# syntax=docker/dockerfile:1\n\n# a comment\nARG BASE=alpine:3.20\nFROM ${BASE}\n",
		"b/Dockerfile.tpl":          "{{ define \"x\" }}\nFROM alpine\n",
		"c/Dockerfile.dockerignore": "FROM\nnode_modules\n",
		"d/Dockerfile.md":           "FROM alpine:3.20 is how this starts\n",
		"e/dockerfile":              "from alpine:3.20\n",
		"f/notes.template":          "Some text that mentions FROM\n",
	})
	sources, err := Discover([]string{"."}, DiscoverOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, src := range sources {
		doc, perr := LoadDocument(src, LoadOptions{})
		if perr != nil {
			t.Fatalf("%s: %v", src.Path, perr)
		}
		if doc != nil {
			got = append(got, string(doc.Kind)+":"+doc.Path)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"dockerfile:a/Dockerfile.j2", "dockerfile:e/dockerfile"}, got); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
}

// TestHelmTemplatesSkippedWithANote: a walk leaves out the templates of a
// Helm chart (Go templates, not YAML) and says so; a templates directory
// with no Chart.yaml beside it is walked as any other, a template named on
// the command line is still checked, and an excluded one is not mentioned.
func TestHelmTemplatesSkippedWithANote(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"chart/Chart.yaml":                     "apiVersion: v2\nname: x\nversion: 0.1.0\n",
		"chart/templates/deploy.yaml":          "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
		"chart/charts/sub/Chart.yaml":          "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
		"chart/charts/sub/templates/pod.yaml":  "apiVersion: v1\nkind: Pod\n{{- if .Values.x }}\n",
		"other/templates/pod.yaml":             "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n",
		"excluded/Chart.yaml":                  "apiVersion: v2\nname: e\nversion: 0.1.0\n",
		"excluded/templates/pod.yaml":          "apiVersion: v1\nkind: Pod\n{{ . }}\n",
		"chart/templates/Dockerfile.unrelated": "FROM scratch\n",
	}
	writeTree(t, dir, files)
	var skipped []string
	opts := DiscoverOptions{
		WorkDir: dir,
		Exclude: func(p string) bool { return strings.HasPrefix(p, "excluded/") },
		Skipped: func(p, reason string) {
			if !strings.Contains(reason, "helm template") {
				t.Errorf("%s: reason %q does not say how to check the chart", p, reason)
			}
			skipped = append(skipped, p)
		},
	}
	sources, err := Discover([]string{".", "chart/templates/deploy.yaml"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sources {
		got = append(got, s.Path)
	}
	if diff := cmp.Diff([]string{"chart/Chart.yaml", "chart/charts/sub/Chart.yaml", "chart/templates/deploy.yaml", "other/templates/pod.yaml"}, got); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"chart/charts/sub/templates", "chart/templates"}, skipped, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

// TestSniffedHearsContentKinds: LoadOptions.Sniffed hears the kind a
// file's content decided, before the parse, and nothing for a file whose
// name gave its kind or whose content no kind takes.
func TestSniffedHearsContentKinds(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"report.json": `{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}`,
		"Dockerfile":  "FROM scratch\n",
		"other.json":  `{"hello": "world"}`,
	}
	writeTree(t, dir, files)
	sources, err := Discover([]string{"."}, DiscoverOptions{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	heard := map[string][]document.Kind{}
	for _, src := range sources {
		opts := LoadOptions{Sniffed: func(k document.Kind) { heard[src.Path] = append(heard[src.Path], k) }}
		if _, perr := LoadDocument(src, opts); perr != nil {
			t.Fatalf("%s: %v", src.Path, perr)
		}
	}
	want := map[string][]document.Kind{"report.json": {document.KindTrivyReport}}
	if diff := cmp.Diff(want, heard); diff != "" {
		t.Errorf("Sniffed heard (-want +got):\n%s", diff)
	}
}

// writeTree writes files (slash-separated names) below dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
