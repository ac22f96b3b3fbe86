package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// ImagesOptions tune Images. The zero value is the default.
type ImagesOptions struct {
	// Platforms limits an index to these platforms (os/arch[/variant]);
	// nil checks every platform.
	Platforms []string
	// Dockerfile is the path of the Dockerfile the images are built from:
	// findings are then placed at its lines, where each rule's
	// custom.anchor says.
	Dockerfile string
	// TrivyReport is the path of a Trivy report (JSON, or the cosign
	// vulnerability predicate) judged with every image: DWF401 and DWF402
	// as for a file, and DWF403 when it names none of the image's
	// digests. Without it, the newest report attached to each registry
	// image's digests (OCI referrers, or cosign's sha256-<hex>.att tag) is
	// judged, and with vulnerabilities.require_report an image without one
	// is DWF404.
	TrivyReport string
	// NoAttachedReports leaves the registry's attached reports alone: no
	// lookup, and no DWF404.
	NoAttachedReports bool
}

// OptionError is an ImagesOptions field that cannot be used (a file that
// cannot be read): nothing was checked.
type OptionError struct {
	// Option names the field: Dockerfile or TrivyReport.
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// imageResult is what became of one reference.
type imageResult struct {
	findings []finding.Finding
	loaded   bool  // a document or a DWF000 finding
	err      error // the image could not be loaded or evaluated
	// sources are the reports judged with the image, by path; notes say
	// which report was used.
	sources map[string][]byte
	notes   []string
	// docs are the image documents loaded.
	docs []*document.Document
}

// Images checks images by reference: registry references, oci-layout:DIR
// and tarball:FILE (relative paths against the policy set's working
// directory). Every platform of an index is checked unless opts names
// some. An image that cannot be loaded is a Problem with a hint; the
// others are still checked. The error is about opts (a Dockerfile that
// cannot be read, policies that do not compile): nothing was checked.
func (c *Checker) Images(ctx context.Context, refs []string, opts ImagesOptions) (*Result, error) {
	ctx = engine.WithNow(ctx, c.now())
	eng := c.set.Engine
	wd := c.set.WorkDir
	imgOpts := c.image
	imgOpts.Platforms = opts.Platforms

	// Images are judged with their Trivy reports: both kinds' rules, in
	// one compile, before anything is fetched.
	if err := eng.Prepare(ctx, document.KindImage, document.KindTrivyReport); err != nil {
		return nil, err
	}
	res := &Result{Inputs: "image", Sources: map[string][]byte{}, URIBase: imageURIBase(wd, refs)}
	var place *anchors
	if opts.Dockerfile != "" {
		file := repopath.Abs(wd, opts.Dockerfile)
		if info, err := os.Stat(file); err != nil || info.IsDir() {
			if err == nil {
				err = errors.New("is a directory")
			}
			return nil, &OptionError{Option: "Dockerfile", Err: fmt.Errorf("%s: %w", opts.Dockerfile, repofile.Cause(err))}
		}
		src := input.Source{Path: repopath.Display(wd, file), File: file, Kind: document.KindDockerfile}
		doc, perr := input.LoadDocument(src, input.LoadOptions{})
		if perr != nil {
			// A broken Dockerfile is a finding; the images are still
			// checked, their findings left at the image.
			res.Findings = append(res.Findings, eng.ParseErrorFinding(perr))
		} else {
			place = anchorsOf(doc)
			res.Sources[doc.Path] = doc.Source
		}
	}

	reports, err := c.newReportLookup(opts, imgOpts)
	if err != nil {
		return nil, err
	}

	results := make([]imageResult, len(refs))
	sem := make(chan struct{}, maxImagesAtOnce)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = c.image1(ctx, ref, func(ctx context.Context) ([]*document.Document, error) {
				return image.Load(ctx, localRef(c.set.WorkDir, ref), imgOpts)
			}, place, reports)
		})
	}
	wg.Wait()

	failed := 0
	var reportRefs []string
	for _, r := range results {
		res.Findings = append(res.Findings, r.findings...)
		for p, src := range r.sources {
			res.Sources[p] = src
			reportRefs = append(reportRefs, p)
		}
		res.Notes = append(res.Notes, r.notes...)
		if r.loaded {
			res.Checked++
		}
		if r.err != nil {
			failed++
			res.Problems = append(res.Problems, Problem{Err: r.err, Hint: image.Hint(r.err, imgOpts.Timeout)})
		}
	}
	// An attached report is named repository@digest: a URI like an image's.
	if len(reportRefs) > 0 {
		res.URIBase = imageURIBase(wd, append(slices.Clone(refs), reportRefs...))
	}
	// Exceptions match image references as written. A comment in the
	// Dockerfile that names a rule of another kind (a DWF101 meant for
	// Files) waits silently instead of being reported as unused.
	res.Findings = c.finish(res.Findings, res.Sources, document.KindImage, nil)
	if failed > 0 {
		res.Err = fmt.Errorf("%d of %d images could not be checked", failed, len(refs))
	}
	return res, nil
}

// image1 loads one reference and evaluates every platform document, with
// its vulnerability report when reports is not nil.
func (c *Checker) image1(ctx context.Context, ref string, load func(context.Context) ([]*document.Document, error), place *anchors, reports *reportLookup) imageResult {
	eng := c.set.Engine
	docs, err := load(ctx)
	if perr, ok := errors.AsType[*document.ParseError](err); ok {
		perr.Path = ref
		return imageResult{findings: []finding.Finding{eng.ParseErrorFinding(perr)}, loaded: true}
	}
	if err != nil {
		return imageResult{err: err}
	}
	var out []finding.Finding
	res := imageResult{loaded: true, docs: docs}
	for _, doc := range docs {
		doc.Path = ref
		var chosen []*chosenReport
		if reports != nil {
			var err error
			if chosen, err = reports.find(ctx, ref, doc); err != nil {
				// The image is still judged, as without a report (no
				// DWF404: nothing shows there is none).
				res.err = err
			} else {
				attachReports(chosen, ref, doc)
			}
		}
		fs, err := eng.EvaluateOne(ctx, doc)
		if err != nil {
			return imageResult{err: err}
		}
		subject, _ := doc.Input["subject"].(string)
		for i := range fs {
			if fs[i].Subject == "" {
				fs[i].Subject = subject // a custom rule may leave it out
			}
			if place != nil {
				r, _ := eng.Rule(fs[i].RuleID)
				place.place(&fs[i], r.Anchor)
			}
		}
		out = append(out, fs...)
		for _, report := range chosen {
			rfs, err := c.evaluateReport(ctx, report, subject, &res)
			if err != nil {
				return imageResult{err: err}
			}
			out = append(out, rfs...)
		}
	}
	res.findings = out
	return res
}

// evaluateReport evaluates the report judged with an image; its findings
// name the image as their subject and stay in the report, whatever
// --dockerfile says.
func (c *Checker) evaluateReport(ctx context.Context, report *chosenReport, subject string, res *imageResult) ([]finding.Finding, error) {
	if report.note != "" {
		res.notes = append(res.notes, report.note)
	}
	var fs []finding.Finding
	switch {
	case report.perr != nil:
		fs = []finding.Finding{c.set.Engine.ParseErrorFinding(report.perr)}
	case report.doc != nil:
		var err error
		if fs, err = c.set.Engine.EvaluateOne(ctx, report.doc); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	if res.sources == nil {
		res.sources = map[string][]byte{}
	}
	res.sources[report.ref] = report.data
	for i := range fs {
		if fs[i].Subject == "" {
			fs[i].Subject = subject
		}
	}
	return fs, nil
}

// localRef resolves the path of an oci-layout: or tarball: reference
// against the working directory.
func localRef(wd, ref string) string {
	for _, prefix := range []string{"oci-layout:", "tarball:"} {
		if p, ok := strings.CutPrefix(ref, prefix); ok && p != "" && !filepath.IsAbs(p) {
			return prefix + filepath.Join(wd, p)
		}
	}
	return ref
}

// anchors are the lines of a Dockerfile that image findings are placed at.
type anchors struct {
	path                   string
	user, entrypoint, from document.Location
}

// anchorsOf finds the final stage's effective USER and ENTRYPOINT (which
// may come from an earlier stage of its chain) and its FROM.
func anchorsOf(doc *document.Document) *anchors {
	a := &anchors{path: doc.Path}
	final, _ := doc.Input["final"].(map[string]any)
	a.from = document.LocationOf(final["location"])
	a.user, a.entrypoint = a.from, a.from
	if u, ok := final["user"].(map[string]any); ok {
		a.user = document.LocationOf(u["location"])
	}
	if e, ok := final["entrypoint"].(map[string]any); ok {
		a.entrypoint = document.LocationOf(e["location"])
	}
	return a
}

// place moves an image finding to the Dockerfile line its rule's anchor
// names, keeping its Subject (reference, digest, platform). Rules without
// an anchor are about the image as a whole: its FROM.
func (a *anchors) place(f *finding.Finding, anchor finding.Anchor) {
	switch anchor {
	case finding.AnchorUser:
		f.Location = a.user
	case finding.AnchorEntrypoint:
		f.Location = a.entrypoint
	default:
		f.Location = a.from
	}
	f.Path = a.path
}

// imageURIBase maps finding paths to SARIF artifact URIs. Paths of files
// (the Dockerfile, the configuration) are relative to the repository root
// as for Files.
//
// A finding about an image that is not placed in a Dockerfile has no file.
// GitHub code scanning rejects a result without a physical location
// ("locationFromSarifResult: expected at least one location"), so a result
// with only the logical location (reference@digest, which every image
// result carries) would make the whole upload fail. It accepts a relative
// URI that names no file of the repository and lists the alert without a
// code view, which is what Trivy's image reports do. So the URI is the
// reference as given without its digest ("ghcr.io/org/app:1.2"): stable
// across pushes of the tag, so an alert stays the same alert, and readable
// in the alert list; oci-layout: and tarball: references name their
// directory or file.
func imageURIBase(wd string, refs []string) func(string) string {
	files := repopath.RepoRelative(wd)
	if files == nil {
		files = func(p string) string { return p }
	}
	uris := make(map[string]string, len(refs))
	for _, ref := range refs {
		uris[ref] = imageURI(ref, files)
	}
	return func(p string) string {
		if u, ok := uris[p]; ok {
			return u
		}
		return files(p)
	}
}

func imageURI(ref string, files func(string) string) string {
	for _, prefix := range []string{"oci-layout:", "tarball:"} {
		if p, ok := strings.CutPrefix(ref, prefix); ok {
			if i := strings.LastIndex(p, "@sha256:"); i > 0 {
				p = p[:i]
			}
			return files(filepath.ToSlash(p))
		}
	}
	if i := strings.Index(ref, "@"); i > 0 {
		ref = ref[:i]
	}
	return ref
}
