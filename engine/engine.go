// Package engine compiles Rego policies once and evaluates documents against
// them concurrently.
//
// Every rule lives in a Rego package dwf.<kind>.<rule_name> with a package
// METADATA annotation; the engine prepares one query per input kind,
// `deny := data.dwf.<kind>[pkg].deny` (each member a finding), so a new rule or a user's policy needs no
// Go change.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// Deferred compiles nothing in New: each kind's rules, and the
	// library packages they refer to, are compiled when Prepare names the
	// kind or its first document is evaluated, so a check of one
	// Dockerfile compiles only the Dockerfile rules. The rule catalogue is
	// complete either way. The zero value compiles every module in New,
	// so that any compile error is reported at once (servers, `rules`).
	Deferred bool
}

// Engine holds compiled policies and prepared queries. It is safe for
// concurrent use.
type Engine struct {
	rules        []finding.Rule           // sorted by ID
	byPackage    map[string]*finding.Rule // "dockerfile.non_root_user" -> rule
	parallelism  int
	store        storage.Store
	evalTimeout  time.Duration
	memoryBudget int64
	// repoKinds are the kinds the repository document carries; nil means
	// every kind (some repository rule did not declare custom.inputs).
	repoKinds map[document.Kind]bool
	// kinds are the kinds some deny rule judges.
	kinds map[document.Kind]bool

	// What compiling needs: every policy file (built-in ones parsed only
	// when a compile reaches them), the builtins allowed, whether to
	// type-check against the input schemas.
	files     []*policyFile
	caps      *ast.Capabilities
	typeCheck bool

	mu       sync.Mutex // held while compiling
	prepared atomic.Pointer[map[document.Kind]*kindQuery]
}

// kindQuery is the prepared query of one kind, or why it could not be
// prepared.
type kindQuery struct {
	pq rego.PreparedEvalQuery
	// compiler stays for the slow-rule search after a deadline.
	compiler *ast.Compiler
	err      error
}

// CompileError is a policy set that does not compile; the user's to fix.
type CompileError struct{ Err error }

func (e *CompileError) Error() string { return e.Err.Error() }
func (e *CompileError) Unwrap() error { return e.Err }

// New reads the policies and their rule catalogue, and compiles them: all
// of them, or with Options.Deferred, only as Prepare or evaluation needs
// each kind.
func New(ctx context.Context, opts Options) (*Engine, error) {
	files, err := readPolicyFiles(opts.Policies, false, !opts.Deferred)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("loading policies: no .rego files found")
	}
	rules, err := readRules(files, opts.Policies)
	if err != nil {
		return nil, err
	}
	typeCheck := false
	for _, src := range opts.Policies {
		typeCheck = typeCheck || !src.Builtin
	}

	e := &Engine{
		byPackage:    make(map[string]*finding.Rule, len(rules)),
		parallelism:  opts.Parallelism,
		store:        NewStore(opts.Config),
		evalTimeout:  opts.EvalTimeout,
		memoryBudget: opts.MemoryBudget,
		kinds:        map[document.Kind]bool{},
		files:        files,
		caps:         opts.Capabilities,
		typeCheck:    typeCheck,
	}
	e.prepared.Store(&map[document.Kind]*kindQuery{})
	if e.evalTimeout <= 0 {
		e.evalTimeout = DefaultEvalTimeout
	}
	if e.memoryBudget == 0 {
		e.memoryBudget = DefaultMemoryBudget
	}
	if e.parallelism <= 0 {
		e.parallelism = runtime.GOMAXPROCS(0)
	}
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
			e.kinds[r.Kind] = true
		}
	}
	sort.Slice(e.rules, func(i, j int) bool { return e.rules[i].ID < e.rules[j].ID })
	for i := range e.rules {
		r := &e.rules[i]
		e.byPackage[strings.TrimPrefix(r.Package, "data.dwf.")] = r
	}
	if !opts.Deferred {
		if err := e.compileAll(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// compileAll compiles every module, whatever it is for, and prepares the
// query of every kind: a compile error anywhere in the set is reported
// (servers, `dwf-policy rules`).
func (e *Engine) compileAll(ctx context.Context) error {
	modules := make(map[string]*ast.Module, len(e.files))
	for _, f := range e.files {
		modules[f.name] = f.module
	}
	compiler, err := compile(modules, e.caps, e.typeCheck)
	if err != nil {
		return &CompileError{Err: err}
	}
	prepared := map[document.Kind]*kindQuery{}
	for kind := range e.kinds {
		q, err := e.prepareQuery(ctx, compiler, kind)
		if err != nil {
			return err
		}
		prepared[kind] = q
	}
	e.prepared.Store(&prepared)
	return nil
}

func (e *Engine) prepareQuery(ctx context.Context, compiler *ast.Compiler, kind document.Kind) (*kindQuery, error) {
	pq, err := rego.New(
		// One result per package, its deny whole, rather than one per
		// finding: a report's thousands of findings cost OPA a result
		// (bindings plugged and converted) each.
		rego.Query(fmt.Sprintf("deny := data.dwf.%s[pkg].deny; type := type_name(deny)", kindSegment(kind))),
		rego.Compiler(compiler),
		rego.Store(e.store),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing %s query: %w", kind, err)
	}
	return &kindQuery{pq: pq, compiler: compiler}, nil
}

// Prepare compiles the rules of the kinds not compiled yet, in one
// compile: the packages under data.dwf.<kind> and the packages they refer
// to (data.dwf.lib.*), no others. A check calls it once it knows the kinds
// of its inputs; a kind it did not name is compiled when its first document
// is evaluated. Kinds without rules are ignored. A *CompileError means the
// policies of those kinds do not compile.
func (e *Engine) Prepare(ctx context.Context, kinds ...document.Kind) error {
	if e.missing(kinds) == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	missing := e.missing(kinds)
	if missing == nil {
		return nil
	}
	segs := make([]string, len(missing))
	for i, k := range missing {
		segs[i] = kindSegment(k)
	}
	prepared := maps.Clone(*e.prepared.Load())
	err := func() error {
		// Built-in files are compiled without their METADATA unless
		// custom policies make the compile type-check against schemas.
		files, precompiled, err := closure(e.files, segs, e.typeCheck)
		if err != nil {
			return err
		}
		modules := make(map[string]*ast.Module, len(files))
		for _, f := range files {
			modules[f.name] = moduleFor(f, precompiled)
		}
		var compiler *ast.Compiler
		if precompiled {
			compiler, err = compilePrecompiled(modules, e.caps)
		} else {
			compiler, err = compile(modules, e.caps, e.typeCheck)
		}
		if err != nil {
			return &CompileError{Err: err}
		}
		for _, kind := range missing {
			q, err := e.prepareQuery(ctx, compiler, kind)
			if err != nil {
				return err
			}
			prepared[kind] = q
		}
		return nil
	}()
	if err != nil {
		if ctx.Err() != nil {
			// Cut short because the caller stopped waiting: not the
			// kind's failure, and the next caller compiles it.
			return err
		}
		for _, kind := range missing {
			prepared[kind] = &kindQuery{err: err}
		}
	}
	e.prepared.Store(&prepared)
	return err
}

// missing returns the kinds with rules that are not prepared yet, sorted,
// or nil.
func (e *Engine) missing(kinds []document.Kind) []document.Kind {
	prepared := *e.prepared.Load()
	var out []document.Kind
	for _, k := range kinds {
		if _, ok := prepared[k]; !ok && e.kinds[k] && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// query returns the prepared query of kind, compiling it first if need
// be; nil and no error when no rule judges the kind.
func (e *Engine) query(ctx context.Context, kind document.Kind) (*kindQuery, error) {
	if !e.kinds[kind] {
		return nil, nil
	}
	q, ok := (*e.prepared.Load())[kind]
	if !ok {
		e.Prepare(ctx, kind) //nolint:errcheck // the error is kept in the query
		q = (*e.prepared.Load())[kind]
	}
	if q.err != nil {
		return nil, q.err
	}
	return q, nil
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
	// RepositoryFiles returns the repository's Dockerfiles and lockfiles,
	// the repository document's `files` (nil: none known); it is called
	// once every input is loaded, only when the repository document is
	// built, so the caller may still be listing them while inputs load.
	RepositoryFiles func() []document.RepositoryFile
	// NoRepository builds no repository document: the run cannot concern
	// the repository rules (a pre-commit run over Dockerfiles when they
	// read workflows), so they are neither compiled nor evaluated.
	NoRepository bool
	// Concerned, when set, is asked once every input is loaded whether the
	// run concerns the repository rules after all: the kind of a file its
	// content decides is known only then. false builds no repository
	// document, as NoRepository.
	Concerned func() bool
}

// RepositoryInputs reports whether repository rules run and the kinds of
// document they read; kinds is nil when some rule reads every kind.
func (e *Engine) RepositoryInputs() (kinds []document.Kind, ok bool) {
	if !e.kinds[document.KindRepository] {
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
	keep := e.kinds[document.KindRepository] && !opts.NoRepository
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
					repo := keep && (e.repoKinds == nil || e.repoKinds[doc.Kind])
					var input ast.Value
					var err error
					if repo {
						// The repository document reads all of it: converted
						// once, up front.
						input, err = inputValue(doc.Input)
					} else {
						input, err = lazyInput(doc)
					}
					if err != nil {
						errs[i] = fmt.Errorf("evaluating %s: converting input: %w", doc.Path, err)
						continue
					}
					per[i], errs[i] = e.evaluate(ctx, doc, input)
					if keep {
						kept[i] = keptDocument{path: doc.Path, kind: doc.Kind}
						if repo {
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

	// A kind whose policies do not compile fails each of its documents
	// with the same error: it is reported once.
	seen := map[*CompileError]bool{}
	for i, err := range errs {
		if ce, ok := errors.AsType[*CompileError](err); ok {
			if seen[ce] {
				errs[i] = nil
			}
			seen[ce] = true
		}
	}
	total := 0
	for _, fs := range per {
		total += len(fs)
	}
	out := make([]finding.Finding, 0, total)
	for i, fs := range per {
		out = append(out, fs...)
		per[i] = nil // one copy of the findings at a time
	}
	if keep && (opts.Concerned == nil || opts.Concerned()) {
		var files []document.RepositoryFile
		if opts.RepositoryFiles != nil {
			files = opts.RepositoryFiles()
		}
		if repo, value := repositoryDocument(kept, files); repo != nil {
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
	if !e.kinds[doc.Kind] {
		return nil, nil
	}
	ctx, stop := memoryGuard(ctx, e.memoryBudget)
	defer stop()
	input, err := lazyInput(doc)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: converting input: %w", doc.Path, err)
	}
	return e.evaluate(ctx, doc, input)
}

// lazyInput is a document's input as policies see it, converted to Rego
// values lazily, key by key, as rules read it (ast.LazyObject): the
// built-in Dockerfile rules read input.final and input.stages and never pay
// for input.instructions, half of the document. A rule that iterates over
// the whole input converts all of it, as before. The value is for one
// evaluation at a time.
// A document with a value that builds its own Rego value, or with a large
// top-level array (a report's vulnerabilities), is converted up front
// instead (inputValue): its rules read all of it anyway.
func lazyInput(doc *document.Document) (ast.Value, error) {
	if convertsEagerly(doc.Input) {
		return inputValue(doc.Input)
	}
	return ast.LazyObject(doc.Input), nil
}

// evaluate runs the rules of doc's kind over its input, already converted.
func (e *Engine) evaluate(ctx context.Context, doc *document.Document, input ast.Value) (_ []finding.Finding, err error) {
	q, err := e.query(ctx, doc.Kind)
	if q == nil || err != nil {
		return nil, err
	}
	// The lazy input converts a value when a rule reads it, and panics
	// on one that is not JSON (documents are plain values, so this is a
	// defect in a parser): an error naming the file, not a crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("evaluating %s: converting input: %v", doc.Path, r)
		}
	}()
	rs, err := e.evalLimited(ctx, q, doc, input)
	if err != nil {
		return nil, err
	}
	out := make([]finding.Finding, 0, len(rs))
	for _, r := range rs {
		// The bindings are Rego values (resultValue): pkg and type are
		// converted here, deny's findings one by one.
		pkg, typ, err := pkgAndType(r.Bindings)
		if err != nil {
			return nil, fmt.Errorf("evaluating %s: %w", doc.Path, err)
		}
		rule, ok := e.byPackage[kindSegment(doc.Kind)+"."+pkg]
		if !ok {
			return nil, fmt.Errorf("evaluating %s: package data.dwf.%s.%s has no rule metadata", doc.Path, kindSegment(doc.Kind), pkg)
		}
		if rule.Severity == finding.SeverityNone {
			continue
		}
		if out, err = decodeDeny(out, typ, r.Bindings["deny"], rule, doc); err != nil {
			return nil, fmt.Errorf("evaluating %s: rule %s: %w", doc.Path, rule.ID, err)
		}
	}
	// out has room for a finding per rule, and most files have far fewer:
	// the findings are kept until the run reports, so what is kept is
	// their exact size (50,000 Dockerfiles kept ~80 MB of room otherwise).
	if len(out) == 0 {
		return nil, nil
	}
	if len(out) < cap(out) {
		out = slices.Clone(out)
	}
	return out, nil
}

// kindSegment maps a kind to its Rego package segment (no dashes in Rego
// identifiers: trivy-report -> trivy_report).
func kindSegment(k document.Kind) string { return strings.ReplaceAll(string(k), "-", "_") }

// denied returns what `deny[f]` binds f to, for a package's deny of Rego
// type typ (converted to JSON, where a set and an array are both []any):
// a set's elements, an object's keys in order, an array's indices (which
// decodeFinding refuses, as before); nothing for a scalar.
func denied(typ string, deny any) []any {
	switch d := deny.(type) {
	case []any:
		if typ == "set" {
			return d
		}
		out := make([]any, len(d))
		for i := range d {
			out[i] = json.Number(strconv.Itoa(i))
		}
		return out
	case map[string]any:
		out := make([]any, 0, len(d))
		for _, k := range slices.Sorted(maps.Keys(d)) {
			out = append(out, k)
		}
		return out
	}
	return nil
}
