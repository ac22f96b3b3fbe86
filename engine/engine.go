// Package engine compiles Rego policies once and evaluates documents against
// them concurrently.
//
// Every rule lives in a Rego package dwf.<kind>.<rule_name> with a package
// METADATA annotation; the engine prepares one query per input kind,
// `data.dwf.<kind>[pkg].deny[f]`, so a new rule or a user's policy needs no
// Go change.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// ParseErrorRuleID is the rule reported for inputs that cannot be parsed.
const ParseErrorRuleID = "DWF000"

// PolicySource is one tree of .rego files.
type PolicySource struct {
	// Name prefixes file names in errors and positions, e.g. "policies" for
	// the built-ins or the directory the user gave.
	Name string
	FS   fs.FS
	// Builtin marks the policies shipped in the binary.
	Builtin bool
}

// Options configures New. The zero value of every field is the default.
type Options struct {
	// Policies to compile, built-ins first.
	Policies []PolicySource
	// Config is what policies read as data.dwf.config; nil means
	// config.Default().
	Config map[string]any
	// Severities overrides rule severities by rule ID; SeverityNone turns a
	// rule off.
	Severities map[string]finding.Severity
	// Parallelism bounds concurrent evaluations; 0 means GOMAXPROCS.
	Parallelism int
	// Capabilities restricts the builtins policies may call; nil means the
	// default sandbox (see SandboxCapabilities).
	Capabilities *ast.Capabilities
	// EvalTimeout bounds the evaluation of one document; 0 means
	// DefaultEvalTimeout. A document past it is an error naming the rules
	// that do not finish; the other documents are still evaluated.
	EvalTimeout time.Duration
	// MemoryBudget stops every evaluation when the live heap passes it, in
	// bytes; 0 means DefaultMemoryBudget, a negative value no budget.
	MemoryBudget int64
}

// Engine holds compiled policies and prepared queries. It is safe for
// concurrent use.
type Engine struct {
	rules       []finding.Rule           // sorted by ID
	byPackage   map[string]*finding.Rule // "dockerfile.non_root_user" -> rule
	queries     map[document.Kind]rego.PreparedEvalQuery
	parallelism int
	// compiler and store stay for the slow-rule search after a deadline.
	compiler     *ast.Compiler
	store        storage.Store
	evalTimeout  time.Duration
	memoryBudget int64
	// repoKinds are the kinds the repository document carries; nil means
	// every kind (some repository rule did not declare custom.inputs).
	repoKinds map[document.Kind]bool
}

// New loads, compiles and prepares the policies.
func New(ctx context.Context, opts Options) (*Engine, error) {
	modules, err := loadModules(opts.Policies, false)
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		return nil, errors.New("loading policies: no .rego files found")
	}
	rules, err := readRules(modules, opts.Policies)
	if err != nil {
		return nil, err
	}
	typeCheck := false
	for _, src := range opts.Policies {
		typeCheck = typeCheck || !src.Builtin
	}
	compiler, err := compile(modules, opts.Capabilities, typeCheck)
	if err != nil {
		return nil, err
	}
	store := NewStore(opts.Config)

	e := &Engine{
		byPackage:    make(map[string]*finding.Rule, len(rules)),
		queries:      make(map[document.Kind]rego.PreparedEvalQuery),
		parallelism:  opts.Parallelism,
		compiler:     compiler,
		store:        store,
		evalTimeout:  opts.EvalTimeout,
		memoryBudget: opts.MemoryBudget,
	}
	if e.evalTimeout <= 0 {
		e.evalTimeout = DefaultEvalTimeout
	}
	if e.memoryBudget == 0 {
		e.memoryBudget = DefaultMemoryBudget
	}
	if e.parallelism <= 0 {
		e.parallelism = runtime.GOMAXPROCS(0)
	}
	kinds := map[document.Kind]bool{}
	e.repoKinds = map[document.Kind]bool{}
	for _, r := range rules {
		if r.Kind == document.KindRepository && r.hasDeny && e.repoKinds != nil {
			if r.inputs == nil {
				e.repoKinds = nil
			}
			for _, k := range r.inputs {
				e.repoKinds[k] = true
			}
		}
		if sev, ok := opts.Severities[r.ID]; ok {
			r.Severity = sev
		}
		e.rules = append(e.rules, r.Rule)
		if r.hasDeny {
			kinds[r.Kind] = true
		}
	}
	sort.Slice(e.rules, func(i, j int) bool { return e.rules[i].ID < e.rules[j].ID })
	for i := range e.rules {
		r := &e.rules[i]
		e.byPackage[strings.TrimPrefix(r.Package, "data.dwf.")] = r
	}
	for kind := range kinds {
		pq, err := rego.New(
			rego.Query(fmt.Sprintf("data.dwf.%s[pkg].deny[f]", kindSegment(kind))),
			rego.Compiler(compiler),
			rego.Store(store),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("preparing %s query: %w", kind, err)
		}
		e.queries[kind] = pq
	}
	return e, nil
}

// Rules returns the rule catalogue sorted by ID, with severity overrides
// applied.
func (e *Engine) Rules() []finding.Rule { return e.rules }

// Rule returns the rule with the given ID.
func (e *Engine) Rule(id string) (finding.Rule, bool) {
	for _, r := range e.rules {
		if r.ID == id {
			return r, true
		}
	}
	return finding.Rule{}, false
}

// ParseErrorFinding turns a parse error into the DWF000 finding.
func (e *Engine) ParseErrorFinding(perr *document.ParseError) finding.Finding {
	sev := finding.SeverityError
	if r, ok := e.Rule(ParseErrorRuleID); ok {
		sev = r.Severity
	}
	return finding.Finding{
		RuleID:   ParseErrorRuleID,
		Severity: sev,
		Message:  perr.Message,
		Path:     perr.Path,
		Location: perr.Location,
	}
}

// Evaluate runs every rule over every document, concurrently, and then the
// repository rules over a summary of all of them. Findings come back sorted.
// An evaluation error in one document does not stop the others: the errors
// are joined and returned beside the findings of the documents that worked.
func (e *Engine) Evaluate(ctx context.Context, docs []*document.Document) ([]finding.Finding, error) {
	return e.Run(ctx, len(docs), func(i int) (*document.Document, error) { return docs[i], nil })
}

// Run loads and evaluates n inputs with a bounded pool of workers. Each
// worker loads input i with load and evaluates it at once, so a document is
// evaluated while it is still in cache and can be dropped right after. A
// *document.ParseError from load becomes a DWF000 finding; any other error
// is joined into the returned error and the other inputs still run.
func (e *Engine) Run(ctx context.Context, n int, load func(i int) (*document.Document, error)) ([]finding.Finding, error) {
	return e.RunWith(ctx, n, load, RunOptions{})
}

// RunOptions tune RunWith. The zero value is Run.
type RunOptions struct {
	// ContextOnly marks the inputs loaded only for the repository
	// document (the rest of a repository's workflows when a pre-commit
	// hook passes a few files): their own rules are not evaluated, and
	// they give no findings, not even DWF000; repository rules see them.
	ContextOnly func(i int) bool
	// RepositoryFiles are the repository's Dockerfiles and lockfiles, the
	// repository document's `files` (nil: none known).
	RepositoryFiles []document.RepositoryFile
}

// RepositoryInputs reports whether repository rules run and the kinds of
// document they read; kinds is nil when some rule reads every kind.
func (e *Engine) RepositoryInputs() (kinds []document.Kind, ok bool) {
	if _, ok := e.queries[document.KindRepository]; !ok {
		return nil, false
	}
	if e.repoKinds == nil {
		return nil, true
	}
	for k := range e.repoKinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds, true
}

// RunWith is Run with options.
func (e *Engine) RunWith(ctx context.Context, n int, load func(i int) (*document.Document, error), opts RunOptions) ([]finding.Finding, error) {
	ctx, stop := memoryGuard(ctx, e.memoryBudget)
	defer stop()
	per := make([][]finding.Finding, n)
	errs := make([]error, n)
	// Converted inputs are kept only when repository rules need to see
	// every document; they are reused, not converted a second time.
	_, keep := e.queries[document.KindRepository]
	var kept []keptDocument
	if keep {
		kept = make([]keptDocument, n)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(e.parallelism, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				doc, err := load(i)
				if opts.ContextOnly != nil && opts.ContextOnly(i) {
					if err == nil && doc != nil && keep && (e.repoKinds == nil || e.repoKinds[doc.Kind]) {
						input, err := inputValue(doc.Input)
						if err == nil {
							kept[i] = keptDocument{path: doc.Path, kind: doc.Kind, input: input}
						}
					}
					continue
				}
				var perr *document.ParseError
				switch {
				case errors.As(err, &perr):
					per[i] = []finding.Finding{e.ParseErrorFinding(perr)}
				case err != nil:
					errs[i] = err
				case doc != nil:
					input, err := inputValue(doc.Input)
					if err != nil {
						errs[i] = fmt.Errorf("evaluating %s: converting input: %w", doc.Path, err)
						continue
					}
					per[i], errs[i] = e.evaluate(ctx, doc, input)
					if keep {
						kept[i] = keptDocument{path: doc.Path, kind: doc.Kind}
						if e.repoKinds == nil || e.repoKinds[doc.Kind] {
							kept[i].input = input
						}
					}
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			errs = append(errs, stopped(ctx, e.memoryBudget))
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	var out []finding.Finding
	for _, fs := range per {
		out = append(out, fs...)
	}
	if keep {
		if repo, value := repositoryDocument(kept, opts.RepositoryFiles); repo != nil {
			fs, err := e.evaluate(ctx, repo, value)
			out = append(out, fs...)
			errs = append(errs, err)
		}
	}
	finding.Sort(out)
	return out, errors.Join(errs...)
}

// keptDocument is a document's converted input, kept for the repository
// document.
type keptDocument struct {
	path  string // "": the file could not be loaded
	kind  document.Kind
	input ast.Value // nil: no repository rule reads this kind
}

// repositoryDocument summarises every loaded document for cross-file rules:
// {"kind": "repository", "documents": [{"path", "kind", "input"}]} (see
// schemas/repository.json), with the documents of the kinds repository rules
// read and the repository's files. It returns nil when no file loaded at
// all.
func repositoryDocument(kept []keptDocument, files []document.RepositoryFile) (*document.Document, ast.Value) {
	items := make([]*ast.Term, 0, len(kept))
	loaded := false
	for _, d := range kept {
		loaded = loaded || d.path != ""
		if d.input == nil {
			continue
		}
		items = append(items, ast.ObjectTerm(
			ast.Item(ast.InternedTerm("path"), ast.StringTerm(d.path)),
			ast.Item(ast.InternedTerm("kind"), ast.StringTerm(string(d.kind))),
			ast.Item(ast.InternedTerm("input"), ast.NewTerm(d.input)),
		))
	}
	if !loaded {
		return nil, nil
	}
	fileTerms := make([]*ast.Term, len(files))
	for i, f := range files {
		fileTerms[i] = ast.ObjectTerm(
			ast.Item(ast.InternedTerm("path"), ast.StringTerm(f.Path)),
			ast.Item(ast.InternedTerm("kind"), ast.StringTerm(f.Kind)),
		)
	}
	value := ast.NewObject(
		ast.Item(ast.InternedTerm("kind"), ast.StringTerm(string(document.KindRepository))),
		ast.Item(ast.InternedTerm("documents"), ast.ArrayTerm(items...)),
		ast.Item(ast.InternedTerm("files"), ast.ArrayTerm(fileTerms...)),
	)
	return &document.Document{Kind: document.KindRepository, Path: "."}, value
}

// EvaluateOne runs the rules of doc's kind over doc.
func (e *Engine) EvaluateOne(ctx context.Context, doc *document.Document) ([]finding.Finding, error) {
	if _, ok := e.queries[doc.Kind]; !ok {
		return nil, nil
	}
	ctx, stop := memoryGuard(ctx, e.memoryBudget)
	defer stop()
	input, err := inputValue(doc.Input)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: converting input: %w", doc.Path, err)
	}
	return e.evaluate(ctx, doc, input)
}

// evaluate runs the rules of doc's kind over its input, already converted.
func (e *Engine) evaluate(ctx context.Context, doc *document.Document, input ast.Value) ([]finding.Finding, error) {
	pq, ok := e.queries[doc.Kind]
	if !ok {
		return nil, nil
	}
	rs, err := e.evalLimited(ctx, pq, doc, input)
	if err != nil {
		return nil, err
	}
	out := make([]finding.Finding, 0, len(rs))
	for _, r := range rs {
		pkg, _ := r.Bindings["pkg"].(string)
		rule, ok := e.byPackage[kindSegment(doc.Kind)+"."+pkg]
		if !ok {
			return nil, fmt.Errorf("evaluating %s: package data.dwf.%s.%s has no rule metadata", doc.Path, kindSegment(doc.Kind), pkg)
		}
		if rule.Severity == finding.SeverityNone {
			continue
		}
		f, err := decodeFinding(r.Bindings["f"], rule, doc)
		if err != nil {
			return nil, fmt.Errorf("evaluating %s: rule %s: %w", doc.Path, rule.ID, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// kindSegment maps a kind to its Rego package segment (no dashes in Rego
// identifiers: trivy-report -> trivy_report).
func kindSegment(k document.Kind) string { return strings.ReplaceAll(string(k), "-", "_") }
