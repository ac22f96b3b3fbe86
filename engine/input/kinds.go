package input

import (
	"bytes"
	"path"
	"slices"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/bake"
	"github.com/devflow/dwf-policy/engine/input/dockerfile"
	"github.com/devflow/dwf-policy/engine/input/kubernetes"
	"github.com/devflow/dwf-policy/engine/input/trivyreport"
	"github.com/devflow/dwf-policy/engine/input/workflow"
)

// FileKind is one input kind read from files: how a file of the kind is
// recognised and how it is parsed. Adding an input kind is one entry in
// fileKinds plus its parser package, its schema in engine/document/schemas
// and its fixtures under testdata/rules (docs/architecture.md).
type FileKind struct {
	Kind document.Kind
	// Summary is what --kind help says of the kind.
	Summary string
	// MatchPath reports whether a slash-separated path alone says the file
	// is of this kind. Directory walks pick files by it.
	MatchPath func(path string) bool
	// SniffExtensions are the lower-case extensions (".yaml") of walked
	// files whose name says nothing but whose content may: they are read
	// and kept only when the Sniff of a kind listing their extension
	// recognises them.
	SniffExtensions []string
	// Sniff reports whether content says the file is of this kind, for
	// files whose path says nothing: every explicitly named file, and
	// walked files with one of SniffExtensions. Nil recognises nothing by
	// content.
	Sniff func(data []byte) bool
	// Fallback reports whether a file named explicitly on the command line
	// that nothing else recognised is taken as this kind.
	Fallback func(path string) bool
	// Parse turns the file's bytes into a document.
	Parse func(path string, data []byte, opts ParseOptions) (*document.Document, error)
	// MaxFileBytes is the kind's own cap on a file when LoadOptions sets
	// none; 0 means DefaultMaxFileBytes.
	MaxFileBytes int
}

// ParseOptions are what a parser may use beyond the bytes.
type ParseOptions struct {
	// Target is the Dockerfile build stage checked instead of the last.
	Target string
	// MaxBytes caps the file and what is derived from it.
	MaxBytes int
	// ReadFile reads a repository-relative file (a workflow's trivy.yaml);
	// nil reads nothing.
	ReadFile func(name string) ([]byte, error)
	// ReadSibling reads a file in the parsed file's directory (the
	// default bake files buildx merges with a bake file); nil reads
	// nothing.
	ReadSibling func(name string) ([]byte, error)
	// Vars are bake variable overrides (`--var NAME=VALUE`).
	Vars map[string]string
}

// fileKinds is the table of input kinds read from files, in the order
// content sniffing and fallbacks are tried.
var fileKinds = []FileKind{
	{
		Kind:      document.KindWorkflow,
		Summary:   "GitHub Actions workflow (.github/workflows/*.yml|yaml)",
		MatchPath: isWorkflowPath,
		Sniff:     looksLikeWorkflow,
		Fallback:  isYAML,
		Parse: func(p string, data []byte, o ParseOptions) (*document.Document, error) {
			return workflow.Parse(p, data, workflow.Options{ReadFile: o.ReadFile, MaxBytes: o.MaxBytes})
		},
	},
	{
		Kind:            document.KindTrivyReport,
		Summary:         "Trivy JSON or SARIF report or cosign vulnerability attestation (JSON recognised by content)",
		SniffExtensions: []string{".json", ".sarif"},
		Sniff:           trivyreport.Sniff,
		// An explicitly named JSON file that no kind recognised by its
		// content (a package.json, a JSON array of manifests) is read as a
		// report, whose parser says what it is not.
		Fallback:     isJSON,
		MaxFileBytes: trivyreport.DefaultMaxBytes,
		Parse: func(p string, data []byte, o ParseOptions) (*document.Document, error) {
			return trivyreport.Parse(p, data, trivyreport.Options{MaxBytes: o.MaxBytes})
		},
	},
	{
		Kind:            document.KindKubernetes,
		Summary:         "Kubernetes manifests with workloads (YAML or JSON with apiVersion and kind: Pod, Deployment, CronJob, ..., Lists, helm template and kustomize output)",
		MatchPath:       func(string) bool { return false }, // by content only
		SniffExtensions: []string{".yaml", ".yml", ".json"},
		Sniff:           kubernetes.Sniff,
		Parse: func(p string, data []byte, o ParseOptions) (*document.Document, error) {
			return kubernetes.Parse(p, data, kubernetes.Options{MaxBytes: o.MaxBytes})
		},
	},
	{
		Kind:      document.KindBake,
		Summary:   "docker buildx bake file (docker-bake.hcl|json, docker-bake.override.hcl|json, docker-bake.*.hcl|json, *.bake.hcl|json)",
		MatchPath: isBakePath,
		Parse: func(p string, data []byte, o ParseOptions) (*document.Document, error) {
			return bake.Parse(p, data, bake.Options{Vars: o.Vars, ReadSibling: o.ReadSibling})
		},
	},
	{
		Kind:            document.KindDockerfile,
		Summary:         "Dockerfile or Containerfile (Dockerfile, Dockerfile.*, Dockerfile-*, *.Dockerfile, Containerfile, any case)",
		MatchPath:       isDockerfilePath,
		SniffExtensions: ambiguousDockerfileExts,
		Sniff:           looksLikeDockerfile,
		Fallback:        func(string) bool { return true },
		Parse: func(p string, data []byte, o ParseOptions) (*document.Document, error) {
			return dockerfile.Parse(p, data, dockerfile.Options{Target: o.Target, MaxBytes: o.MaxBytes})
		},
	},
}

// FileKinds returns the input kinds read from files.
func FileKinds() []FileKind { return fileKinds }

// LookupKind returns the file kind named name.
func LookupKind(name string) (FileKind, bool) {
	for _, k := range fileKinds {
		if string(k.Kind) == name {
			return k, true
		}
	}
	return FileKind{}, false
}

// KindOf detects a file's kind from its path, or "" when the name says
// nothing.
func KindOf(file string) document.Kind {
	slash := path.Clean(strings.ReplaceAll(file, `\`, "/"))
	for _, k := range fileKinds {
		if k.MatchPath != nil && k.MatchPath(slash) {
			return k.Kind
		}
	}
	return ""
}

// sniffKind detects the kind of content whose path said nothing, or "".
// A walked file (not explicit) is only taken by a kind that lists its
// extension in SniffExtensions, so a walk never turns, say, a workflow
// template kept outside .github/workflows into a workflow.
func sniffKind(file string, data []byte, explicit bool) document.Kind {
	ext := strings.ToLower(path.Ext(strings.ReplaceAll(file, `\`, "/")))
	for _, k := range fileKinds {
		if k.Sniff == nil || (!explicit && !slices.Contains(k.SniffExtensions, ext)) {
			continue
		}
		if k.Sniff(data) {
			return k.Kind
		}
	}
	return ""
}

// fallbackKind is the kind of an explicitly named file that neither its
// path nor its content says anything about.
func fallbackKind(file string) document.Kind {
	for _, k := range fileKinds {
		if k.Fallback != nil && k.Fallback(file) {
			return k.Kind
		}
	}
	return ""
}

// maxFileBytes is the cap on reading a source of kind (or, for "", of any
// kind its content may turn out to be) when the options set none.
func maxFileBytes(kind document.Kind, file string) int {
	limit := 0
	ext := strings.ToLower(path.Ext(file))
	for _, k := range fileKinds {
		if k.Kind == kind || (kind == "" && (slices.Contains(k.SniffExtensions, ext) || (k.Fallback != nil && k.Fallback(file)))) {
			limit = max(limit, k.MaxFileBytes)
		}
	}
	if limit == 0 {
		return DefaultMaxFileBytes
	}
	return limit
}

// wantsSniff reports whether a walked file whose path says nothing has an
// extension some kind recognises by content.
func wantsSniff(file string) bool {
	ext := strings.ToLower(path.Ext(file))
	for _, k := range fileKinds {
		for _, e := range k.SniffExtensions {
			if e == ext {
				return true
			}
		}
	}
	return false
}

// isBakePath recognises buildx's default bake file names and the names
// bake files are commonly given for `docker buildx bake -f`.
func isBakePath(slash string) bool {
	base := path.Base(slash)
	lower := strings.ToLower(base)
	if !strings.HasSuffix(lower, ".hcl") && !strings.HasSuffix(lower, ".json") {
		return false
	}
	return bake.IsDefaultName(base) || strings.HasPrefix(base, "docker-bake.") ||
		strings.HasSuffix(lower, ".bake.hcl") || strings.HasSuffix(lower, ".bake.json")
}

func isWorkflowPath(slash string) bool {
	dir := path.Dir(slash)
	return isYAML(slash) && (dir == ".github/workflows" || strings.HasSuffix(dir, "/.github/workflows"))
}

func isJSON(file string) bool {
	return strings.HasSuffix(strings.ToLower(file), ".json")
}

func isYAML(file string) bool {
	lower := strings.ToLower(file)
	return strings.HasSuffix(lower, ".yml") || strings.HasSuffix(lower, ".yaml")
}

// looksLikeWorkflow recognises a workflow by its two required top-level
// keys, `on` (or its quoted forms) and `jobs`, at the start of a line.
func looksLikeWorkflow(data []byte) bool {
	var on, jobs bool
	for line := range bytes.Lines(data) {
		switch {
		case bytes.HasPrefix(line, []byte("jobs:")):
			jobs = true
		case bytes.HasPrefix(line, []byte("on:")), bytes.HasPrefix(line, []byte(`"on":`)), bytes.HasPrefix(line, []byte("'on':")):
			on = true
		}
	}
	return on && jobs
}
