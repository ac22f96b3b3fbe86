package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/engine/input/dockerfile"
	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/devflow/dwf-policy/engine/repopath"
	"github.com/devflow/dwf-policy/engine/suppress"
)

// FilesOptions tune Files. The zero value is the default.
type FilesOptions struct {
	// Stdin is the content of standard input, checked for the path "-"
	// (findings name it "stdin"); the caller reads it.
	Stdin []byte
	// StdinName is the path standard input stands for (editors checking an
	// unsaved buffer): findings, kind detection, exclusions, exceptions
	// and the repository document take it as that file.
	StdinName string
	// Kind forces the kind of explicitly named files; "" detects it.
	Kind document.Kind
	// Target is the Dockerfile build stage checked instead of the last
	// one, for every Dockerfile that does not carry its own.
	Target string
	// Vars are bake variable overrides (`--var NAME=VALUE`).
	Vars map[string]string
	// ResolveBaseImages fetches the config of the image a Dockerfile's
	// final stage is built FROM when the Dockerfile sets no USER or no
	// ENTRYPOINT, and uses what it sets (network).
	ResolveBaseImages bool
	// ResolveImages loads the config of every platform of each image a
	// Kubernetes container runs, and records its user, entrypoint and cmd
	// in the container, where the pod spec does not decide (network).
	ResolveImages bool
}

// Files checks the files and directories at paths (relative ones against
// the policy set's working directory): discovery, loading, the
// repository document, optional base and container images, then
// exceptions and suppressions. A path that does not exist or an image that
// cannot be fetched makes Err; the other inputs are still checked.
func (c *Checker) Files(ctx context.Context, paths []string, opts FilesOptions) *Result {
	ctx = engine.WithNow(ctx, c.now())
	wd := c.set.WorkDir
	if len(paths) == 0 {
		paths = []string{"."}
	}
	res := &Result{URIBase: repopath.RepoRelative(wd)}
	var bases *baseResolver // nil: no network
	if opts.ResolveBaseImages {
		bases = newBaseResolver(c.image)
	}
	var podImages *podImageResolver // nil: no network
	if opts.ResolveImages {
		podImages = newPodImageResolver(c.image)
	}

	exclude := c.set.Config.Excluder(wd)
	sources, discoverErr := input.Discover(paths, input.DiscoverOptions{
		Kind: opts.Kind, WorkDir: wd, Exclude: exclude, Stdin: opts.Stdin, StdinName: opts.StdinName,
		Skipped: func(path, reason string) { res.Notes = append(res.Notes, path+": "+reason) },
	})
	repoRoot := repopath.Root(wd)
	if repoRoot == "" {
		repoRoot = wd
	}
	loadOpts := input.LoadOptions{Target: opts.Target, RepoRoot: repoRoot, Vars: opts.Vars,
		// A kind known only from a file's content compiles while the file
		// is parsed (evaluation waits for it); a compile error is kept
		// with the kind's query and reported when the file is evaluated.
		Sniffed: func(kind document.Kind) { go c.set.Engine.Prepare(ctx, kind) }, //nolint:errcheck
	}
	sources, preloaded := expandBakeTargets(sources, loadOpts, wd, c.set.Config.Excluder(wd))
	contents := make([][]byte, len(sources))
	reread := make([]bool, len(sources))    // content left to ReadSource
	inputs := make([]bool, len(sources))    // false: content no kind recognised
	notes := make([]*Problem, len(sources)) // --target not applied, by source
	kinds := make([]document.Kind, len(sources))
	// Repository rules judge the whole repository: when only some files
	// are checked (a pre-commit hook), the rest of the documents they read
	// are loaded too, for the repository document only.
	var repoContext []input.Source
	repoKinds, repoRules := c.set.Engine.RepositoryInputs()
	partial := opts.Kind == "" && repopath.Root(wd) != "" && !coversRepository(paths, wd)
	// A run none of whose files is (or may turn out to be) of a kind the
	// repository rules read builds no repository document, and the rules
	// are neither compiled nor run: in a whole run the repository has no
	// such file, so rules that declared those kinds have nothing to judge
	// (a rule that must see an absence declares no inputs); a partial run
	// cannot change what they find, and their findings would not be its
	// own (involved would drop them all).
	noRepository := repoRules && !mayConcern(sources, repoKinds)
	if repoRules && partial && !noRepository {
		repoContext = repositoryContext(sources, repoRoot, wd, repoKinds, exclude)
	}
	// Rules about what triggers an image scan need the repository's
	// Dockerfiles and lockfiles, whatever files the run checks (unless the
	// run builds no repository document). The repository is walked while
	// the files are loaded and judged: the walk of a large one takes as
	// long as judging a large report, and a run whose files turn out not
	// to concern the repository rules never uses it.
	walk := walkRepository(repoRules && !noRepository, paths, wd, input.RepositoryFilesOptions{WorkDir: wd, Lockfiles: c.set.Config.Lockfiles(), Exclude: exclude})
	// Compile the rules of the kinds the inputs are known to be now, in one
	// go; a file whose content decides its kind compiles its kind's rules
	// when it turns out to be one not compiled yet, and the repository
	// rules are compiled when the repository document is built. The
	// repository context is not judged by its kinds' rules (only the
	// repository rules read it): a report checked in a repository with
	// workflows does not compile the workflow rules. The first
	// files are read and parsed while it compiles, on this goroutine (their
	// evaluation waits for it); once it has failed no more are, and the run
	// reports only that error. A run that may reach the network for the
	// files it reads (base images, pod images) compiles first.
	var prepareErr error
	prepared := make(chan struct{})
	prepare := func() {
		prepareErr = c.set.Engine.Prepare(ctx, knownKinds(sources)...)
		close(prepared)
	}
	overlap := bases == nil && podImages == nil
	if !overlap {
		if prepare(); prepareErr != nil {
			res.Notes = append(res.Notes, walk.notes()...) // and no walk outlives the run
			res.Err = prepareErr
			return res
		}
	}
	prepareFailed := func() bool {
		select {
		case <-prepared:
			return prepareErr != nil
		default:
			return false
		}
	}
	contextContents := make([][]byte, len(repoContext))
	var findings []finding.Finding
	var evalErr error
	run := func() {
		findings, evalErr = c.set.Engine.RunWith(ctx, len(sources)+len(repoContext), func(i int) (*document.Document, error) {
			if prepareFailed() {
				return nil, nil
			}
			if i >= len(sources) {
				doc, perr := input.LoadDocument(repoContext[i-len(sources)], loadOpts)
				if perr != nil || doc == nil {
					return nil, nil // not checked: its problems are not this run's
				}
				contextContents[i-len(sources)] = doc.Source
				return doc, nil
			}
			var doc *document.Document
			var perr *document.ParseError
			if l, ok := preloaded[i]; ok {
				doc, perr = l.doc, l.perr
			} else {
				doc, perr = input.LoadDocument(sources[i], loadOpts)
			}
			if perr != nil && opts.Target != "" && sources[i].Target == "" {
				if te, ok := errors.AsType[*dockerfile.TargetNotFoundError](perr); ok {
					if sources[i].Explicit {
						// A Dockerfile named with --target must have that
						// stage: a usage error, not a finding.
						notes[i] = &Problem{Err: fmt.Errorf("%w: %s has no stage %q (its stages: %s)", ErrTargetNotFound, sources[i].Path, te.Target, stageList(te.Stages))}
						return nil, nil
					}
					// In a walk, --target is for the Dockerfiles that have the
					// stage; the others are checked at their last stage.
					notes[i] = &Problem{Err: fmt.Errorf("%s has no stage %q (its stages: %s); checked its last stage", sources[i].Path, te.Target, stageList(te.Stages))}
					last := loadOpts
					last.Target = ""
					doc, perr = input.LoadDocument(sources[i], last)
				}
			}
			if perr != nil {
				inputs[i] = true
				return nil, perr // a typed nil must not become a non-nil error
			}
			if doc == nil {
				return nil, nil
			}
			inputs[i] = true
			// An inline Dockerfile is not its file's content. A file is kept
			// only when it cannot be read again (standard input) or may hold
			// suppression comments; reports read the others again (see
			// Result.ReadSource), so memory does not grow with the files.
			if sources[i].Anchor == nil {
				reread[i] = sources[i].Data == nil && !suppress.MayHold(doc.Source)
				if !reread[i] {
					contents[i] = doc.Source
				}
			}
			kinds[i] = doc.Kind
			bases.resolve(ctx, doc)
			podImages.resolve(ctx, doc)
			return doc, nil
		}, engine.RunOptions{ContextOnly: func(i int) bool { return i >= len(sources) }, RepositoryFiles: walk.files, NoRepository: noRepository,
			// The same holds once the files whose content decides their
			// kind are loaded: a Trivy report checked alone (or with
			// Dockerfiles) is not a workflow, and repository rules that
			// read workflows are not compiled after it is judged.
			Concerned: func() bool { return concerns(sources, kinds, inputs, repoKinds) }})
	}
	if overlap {
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			run()
		}()
		prepare()
		<-ran
	} else {
		run()
	}
	res.Notes = append(res.Notes, walk.notes()...)
	if prepareErr != nil {
		res.Err = prepareErr
		return res
	}
	var targetErrs []error
	for _, n := range notes {
		switch {
		case n == nil:
		case errors.Is(n.Err, ErrTargetNotFound):
			targetErrs = append(targetErrs, n.Err)
		default:
			res.Notes = append(res.Notes, n.Err.Error())
		}
	}
	targetErr := errors.Join(targetErrs...)
	basesErr := bases.problems(res)
	podImagesErr := podImages.problems(res)
	res.Sources = make(map[string][]byte, len(sources)+1)
	for i, s := range sources {
		if contents[i] != nil || reread[i] {
			res.Sources[s.Path] = contents[i]
		}
	}
	res.ReadSource = func(p string) ([]byte, bool) {
		data, err := repofile.ReadFile(repopath.Abs(wd, p), int64(input.MaxFileBytes()))
		return data, err == nil
	}
	for _, ok := range inputs {
		if ok {
			res.Checked++
		}
	}
	res.Unmatched = c.unmatched(paths, sources, inputs, wd, exclude)
	if opts.StdinName != "" && opts.Stdin != nil && !slices.ContainsFunc(sources, func(s input.Source) bool { return s.Data != nil }) {
		res.Unmatched = append(res.Unmatched, fmt.Sprintf("-: not checked: the configuration %s excludes %s (--stdin-filename)", c.set.Config.Name, opts.StdinName))
	}
	var wholeRepo []string
	if opts.Kind == "" && coversRepository(paths, wd) {
		wholeRepo = make([]string, 0, len(sources))
		for _, s := range sources {
			wholeRepo = append(wholeRepo, s.Path)
		}
	}
	if repoContext != nil {
		findings = c.involved(findings, sources, kinds, repoKinds, repoContext, contextContents, res.Sources)
	}
	res.Findings = c.finish(findings, res.Sources, "", wholeRepo)
	res.Err = errors.Join(discoverErr, evalErr, basesErr, podImagesErr, targetErr)
	return res
}

// repositoryDirs are the directories whose Dockerfiles and lockfiles the
// repository document lists: the repository wd is in, whatever paths were
// given; outside a repository, only the directories given (a walk of wd
// when a file is named could cover a home directory).
func repositoryDirs(paths []string, wd string) []string {
	if root := repopath.Root(wd); root != "" {
		return []string{root}
	}
	var dirs []string
	for _, p := range paths {
		p = repopath.Abs(wd, p)
		if info, err := os.Stat(p); err == nil && info.IsDir() && !slices.Contains(dirs, p) {
			dirs = append(dirs, p)
		}
	}
	return dirs
}

// repositoryWalk lists the repository's Dockerfiles and lockfiles in the
// background (walkRepository).
type repositoryWalk struct {
	done      chan struct{}
	list      []document.RepositoryFile
	walkNotes []string
}

// walkRepository starts listing the Dockerfiles and lockfiles of the
// directories repository rules see (repositoryDirs), when walk is set.
func walkRepository(walk bool, paths []string, wd string, opts input.RepositoryFilesOptions) *repositoryWalk {
	w := &repositoryWalk{done: make(chan struct{})}
	if !walk {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		for _, dir := range repositoryDirs(paths, wd) {
			files, truncated := input.RepositoryFiles(dir, opts)
			w.list = append(w.list, files...)
			if truncated {
				w.walkNotes = append(w.walkNotes, fmt.Sprintf("%s: too many files to list every Dockerfile and lockfile (at most %d); repository rules see part of them", repopath.Display(wd, dir), input.MaxRepositoryFiles))
			}
		}
		slices.SortFunc(w.list, func(a, b document.RepositoryFile) int { return strings.Compare(a.Path, b.Path) })
		w.list = slices.Compact(w.list) // directories given inside one another
	}()
	return w
}

// files waits for the walk and returns what it found (nil: no walk).
func (w *repositoryWalk) files() []document.RepositoryFile {
	<-w.done
	return w.list
}

// notes waits for the walk and returns its notes (a listing cut short).
func (w *repositoryWalk) notes() []string {
	<-w.done
	return w.walkNotes
}

// knownKinds lists the kinds of the sources whose kind discovery decided.
func knownKinds(sources []input.Source) []document.Kind {
	var out []document.Kind
	for _, s := range sources {
		if s.Kind != "" && !slices.Contains(out, s.Kind) {
			out = append(out, s.Kind)
		}
	}
	return out
}

// mayConcern reports whether some source is, or may turn out to be, of a
// kind the repository rules read (kinds nil: every kind).
func mayConcern(sources []input.Source, kinds []document.Kind) bool {
	for _, s := range sources {
		if kinds == nil || s.Kind == "" || slices.Contains(kinds, s.Kind) {
			return true
		}
	}
	return false
}

// concerns is mayConcern once the sources are loaded: the kinds their
// content decided are known (kinds[i]; inputs[i] without a kind is a file
// that could not be read or parsed, which may still be of a kind the
// rules read).
func concerns(sources []input.Source, kinds []document.Kind, inputs []bool, repoKinds []document.Kind) bool {
	for i, s := range sources {
		k := s.Kind
		if k == "" {
			k = kinds[i]
		}
		if repoKinds == nil || (k == "" && inputs[i]) || (k != "" && slices.Contains(repoKinds, k)) {
			return true
		}
	}
	return false
}

// ErrTargetNotFound: a Dockerfile named explicitly has no stage of the
// --target given; the Dockerfile is not checked and the run fails.
var ErrTargetNotFound = errors.New("--target")

func stageList(names []string) string {
	if len(names) == 0 {
		return "none named"
	}
	return strings.Join(names, ", ")
}

// coversRepository reports whether a run over paths checks the whole
// repository wd is in: one path, the repository's root.
func coversRepository(paths []string, wd string) bool {
	root := repopath.Root(wd)
	if root == "" || len(paths) != 1 {
		return false
	}
	p := paths[0]
	if !filepath.IsAbs(p) {
		p = filepath.Join(wd, p)
	}
	return filepath.Clean(p) == filepath.Clean(root)
}

// unmatched describes the paths given that led to no checked input: a
// file the configuration excludes, a directory with nothing dwf-policy
// checks. Paths that do not exist are errors already and are left out.
func (c *Checker) unmatched(paths []string, sources []input.Source, checked []bool, wd string, exclude func(string) bool) []string {
	var out []string
	for _, given := range paths {
		if given == "-" {
			continue
		}
		p := given
		if !filepath.IsAbs(p) {
			p = filepath.Join(wd, p)
		}
		p = filepath.Clean(p)
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		found := false
		for i, s := range sources {
			if checked[i] && (s.File == p || strings.HasPrefix(s.File, p+string(filepath.Separator))) {
				found = true
				break
			}
		}
		switch {
		case found:
		case !info.IsDir() && exclude != nil && exclude(repopath.Display(wd, p)):
			out = append(out, fmt.Sprintf("%s: not checked: the configuration %s excludes it", given, c.set.Config.Name))
		case info.IsDir():
			var kinds []string
			for _, k := range input.FileKinds() {
				kinds = append(kinds, string(k.Kind))
			}
			slices.Sort(kinds)
			out = append(out, fmt.Sprintf("%s: no file to check in it (none of the kinds %s)", given, strings.Join(kinds, ", ")))
		default:
			out = append(out, fmt.Sprintf("%s: not checked", given))
		}
	}
	return out
}

// repositoryContext finds the documents repository rules read that the
// run does not check: the repository's workflows when workflows are all
// they read (the usual case), else every file of the repository.
func repositoryContext(checked []input.Source, repoRoot, wd string, kinds []document.Kind, exclude func(string) bool) []input.Source {
	dir := repoRoot
	if len(kinds) == 1 && kinds[0] == document.KindWorkflow {
		dir = filepath.Join(repoRoot, ".github", "workflows")
		if _, err := os.Stat(dir); err != nil {
			return nil
		}
	}
	found, _ := input.Discover([]string{dir}, input.DiscoverOptions{WorkDir: wd, Exclude: exclude})
	seen := map[string]bool{}
	for _, s := range checked {
		seen[s.Path] = true
	}
	var out []input.Source
	for _, s := range found {
		if seen[s.Path] || (kinds != nil && s.Kind != "" && !slices.Contains(kinds, s.Kind)) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// involved keeps the findings of repository rules, judged over the whole
// repository, only where the run is concerned: a file checked is of a kind
// those rules read (a changed workflow can cause or fix them), or the
// finding is in a file checked. The sources of kept findings in files not
// checked are added to sources, for suppressions and fingerprints.
func (c *Checker) involved(findings []finding.Finding, checked []input.Source, kinds []document.Kind, repoKinds []document.Kind, context []input.Source, contextContents [][]byte, sources map[string][]byte) []finding.Finding {
	concerned := false
	checkedPaths := map[string]bool{}
	for i, s := range checked {
		checkedPaths[s.Path] = true
		if kinds[i] != "" && (repoKinds == nil || slices.Contains(repoKinds, kinds[i])) {
			concerned = true
		}
	}
	out := findings[:0]
	for _, f := range findings {
		if r, ok := c.set.Engine.Rule(f.RuleID); ok && r.Kind == document.KindRepository && !concerned && !checkedPaths[f.Path] {
			continue
		}
		out = append(out, f)
	}
	for i, s := range context {
		if contextContents[i] == nil {
			continue
		}
		for _, f := range out {
			if f.Path == s.Path {
				sources[s.Path] = contextContents[i]
				break
			}
		}
	}
	return out
}
