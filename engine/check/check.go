// Package check is the one pipeline every front door runs: evaluate
// documents with a policy set, then apply the configuration's exceptions and
// the inline suppressions, and return one Result that every reporter
// formats. The command line, the admission webhook and the registry gate
// differ only in how they obtain documents and what they do with the
// Result.
package check

import (
	"context"
	"time"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/engine/suppress"
)

// maxImagesAtOnce bounds the images loaded at the same time, by Images and
// by base-image resolution; each load fetches its platforms with bounded
// concurrency of its own.
const maxImagesAtOnce = 4

// Options tune a Checker. The zero value is the default.
type Options struct {
	// Now is the clock that decides whether exceptions have expired; nil
	// means time.Now.
	Now func() time.Time
	// Image says how images are fetched, by Images and by base-image
	// resolution in Files; they are the only network use.
	Image image.Options
}

// Checker checks documents, files and images against one policy set. It is
// safe for concurrent use: every call keeps its state to itself.
type Checker struct {
	set   *policyset.Set
	now   func() time.Time
	image image.Options
}

// New returns a checker for an opened policy set.
func New(set *policyset.Set, opts Options) *Checker {
	c := &Checker{set: set, now: opts.Now, image: opts.Image}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Now is the checker's clock: what exceptions' expiry and policies'
// time.now_ns see.
func (c *Checker) Now() time.Time { return c.now() }

// Deterministic reports whether the rules of kind give the same findings
// for the same document every time (engine.Engine.Deterministic); with
// the same document on the same day (exceptions expire by the day), Document
// then gives the same result.
func (c *Checker) Deterministic(kind document.Kind) bool { return c.set.Engine.Deterministic(kind) }

// Rules returns the rule catalogue of the policy set, sorted by ID.
func (c *Checker) Rules() []finding.Rule { return c.set.Engine.Rules() }

// Problem is something that could not be checked, or was checked with less
// than was asked: a missing path, an image that could not be loaded, a base
// image that could not be fetched.
type Problem struct {
	Err error
	// Hint is one line of advice, or "".
	Hint string
}

// Result is what a check found; every reporter formats it.
type Result struct {
	// Findings are sorted; suppressed findings are kept, marked.
	Findings []finding.Finding
	// Sources maps a finding's Path to the file content, for fingerprints
	// and code snippets; a nil content is read again with ReadSource.
	Sources map[string][]byte
	// ReadSource reads the content of a file Sources holds without it
	// (see report.Report.ReadSource); nil when every content is kept.
	ReadSource func(path string) ([]byte, bool)
	// Checked counts the inputs checked (files, or images).
	Checked int
	// Inputs names what was checked ("image"); "" means files.
	Inputs string
	// Problems are reported beside the findings, in order.
	Problems []Problem
	// Notes say how the run applied what was asked where that differs
	// between inputs (a --target stage that a walked Dockerfile lacks, so
	// its last stage was checked); front doors show them beside the
	// findings. They are not problems: everything was checked.
	Notes []string
	// Unmatched names the paths given that led to nothing checked: a
	// directory with no file of a known kind, a file the configuration
	// excludes. Nothing is wrong with what was checked, but a typo in a
	// path must not pass silently; front doors report them (and may fail
	// on them: --strict-paths).
	Unmatched []string
	// Err is set when some input could not be checked: the result is then
	// incomplete.
	Err error
	// URIBase maps a finding's Path to its SARIF artifact URI; nil means
	// the path as is.
	URIBase func(string) string
	// Image is the image Manifest loaded, for ImageReport; nil elsewhere
	// and when it could not be loaded.
	Image *LoadedImage
}

// Source returns the content of the file at p as a report reads it: kept,
// or read again when Sources holds the path without content.
func (r *Result) Source(p string) ([]byte, bool) {
	src, ok := r.Sources[p]
	if ok && src == nil && r.ReadSource != nil {
		return r.ReadSource(p)
	}
	return src, ok
}

// Document evaluates one document that is already parsed (a webhook's
// object, a test's fixture) and applies exceptions and suppressions. The
// rules of doc's kind judge it; repository rules, which summarise a whole
// repository, do not run over a lone document (an admission webhook
// calls this for every review, so a pass over an empty repository would
// be paid each time).
func (c *Checker) Document(ctx context.Context, doc *document.Document) *Result {
	ctx = engine.WithNow(ctx, c.now())
	findings, err := c.set.Engine.EvaluateOne(ctx, doc)
	finding.Sort(findings)
	res := &Result{Checked: 1, Sources: map[string][]byte{}, Err: err}
	if doc.Source != nil {
		res.Sources[doc.Path] = doc.Source
	}
	if doc.Kind == document.KindImage {
		res.Inputs = "image"
	}
	res.Findings = c.finish(findings, res.Sources, "", nil)
	return res
}

// finish applies the configuration's exceptions and the inline
// suppressions in sources, adding DWF001 and DWF002 findings, and sorts.
// Suppressed findings are kept, marked: SARIF shows them. With onlyKind
// set, an inline comment naming a rule of another kind is left alone, as
// for a rule that is turned off. The configuration's own text joins
// sources, since DWF001 points into it.
//
// wholeRepo, when not nil, lists every file of a run over the whole
// repository, so that exceptions whose paths match none of them are
// reported as unused.
func (c *Checker) finish(findings []finding.Finding, sources map[string][]byte, onlyKind document.Kind, wholeRepo []string) []finding.Finding {
	eng, cfg := c.set.Engine, c.set.Config
	severity := func(id string) finding.Severity {
		r, _ := eng.Rule(id) // SeverityNone when missing or turned off
		return r.Severity
	}
	findings = cfg.ApplyExceptions(findings, config.ApplyOptions{
		Now:             c.now(),
		WorkDir:         c.set.WorkDir,
		ExpiredSeverity: severity(config.ExpiredExceptionRuleID),
		CheckedFiles:    wholeRepo,
		UnusedSeverity:  severity(config.UnusedExceptionRuleID),
	})
	var ignores []config.VulnIgnore
	if cfg != nil {
		ignores = cfg.Vulnerabilities.Ignore
	}
	ignores = append(ignores, c.set.Ignores...)
	for _, f := range config.ExpiredIgnores(ignores, c.now(), severity(config.ExpiredExceptionRuleID)) {
		findings = append(findings, f)
		for _, ig := range ignores {
			if ig.File == f.Path {
				if _, ok := sources[f.Path]; !ok {
					sources[f.Path] = ig.Source
				}
			}
		}
	}
	findings = suppress.Apply(findings, sources, suppress.Options{
		UnusedSeverity: severity(suppress.UnusedRuleID),
		Rules: func(id string) (bool, bool) {
			r, ok := eng.Rule(id)
			return ok, r.Severity != finding.SeverityNone && (onlyKind == "" || r.Kind == onlyKind)
		},
	})
	finding.Sort(findings)
	if cfg != nil {
		if _, ok := sources[cfg.Name]; !ok {
			sources[cfg.Name] = cfg.Source
		}
	}
	return findings
}

// ImageOptions returns the options images are fetched with, for a front
// door that fetches a manifest itself before judging it.
func (c *Checker) ImageOptions() image.Options { return c.image }
