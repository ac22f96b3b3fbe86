package check

import (
	"context"
	"maps"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
)

// LoadedImage is an image that was loaded and judged (PodImage, Manifest),
// kept so that the reports attached to it can be judged later and again:
// an image's content never changes, the reports attached to its digest do.
// It is immutable.
type LoadedImage struct {
	ref string
	doc *document.Document
}

// Ref is the reference the image was loaded by.
func (li *LoadedImage) Ref() string { return li.ref }

// Input is the image's document as the rules see it, for a caller that
// estimates what it holds; it must not be changed.
func (li *LoadedImage) Input() map[string]any {
	if li == nil || li.doc == nil {
		return nil
	}
	return li.doc.Input
}

// loadedImage keeps doc, or nil for an image that was not loaded.
func loadedImage(ref string, doc *document.Document) *LoadedImage {
	if doc == nil {
		return nil
	}
	return &LoadedImage{ref: ref, doc: doc}
}

// ImageReport is the judgement of the vulnerability reports attached to an
// image: DWF401-DWF403 on the newest report attached to its digest (or, per
// platform, to its platform manifests' digests), or DWF404 when there is
// none and vulnerabilities.require_report is set. It is immutable once
// returned.
type ImageReport struct {
	// Findings are sorted, exceptions applied, suppressed ones marked.
	// Findings in a report are named by the report's manifest
	// (repository@digest) and have its lines; their Subject is the image.
	Findings []finding.Finding
	// Found is true when some report was attached, usable or not.
	Found bool
	// Notes say which report was judged, as for Images.
	Notes []string
}

// ImageReportOptions tune ImageReport. The zero value is the default.
type ImageReportOptions struct {
	// Keychain replaces the checker's credentials for this call.
	Keychain authn.Keychain
	// Ref is the reference the image is pulled by this time: reports are
	// attached in a repository, and one digest may be in several (a
	// caller that caches a LoadedImage by digest). "" means the reference
	// it was loaded by.
	Ref string
	// Rules limits the findings to these rule IDs (and DWF000, a report
	// that cannot be read); nil keeps DWF401-DWF404 and any custom rule of
	// the trivy-report kind.
	Rules []string
}

// NeedsReports reports whether the policy set has a rule that reads a
// vulnerability report judged with an image (DWF401-DWF404, or a custom
// rule of the trivy-report kind): without one, looking reports up is
// wasted.
func (c *Checker) NeedsReports() bool { return c.needsReports() }

// ImageReport looks up the reports attached to img in its registry (one
// referrers list and one .att tag per digest: the image's and each
// platform manifest's) and judges them. A registry failure is an error;
// nothing attached is not. The image itself is not judged again: its
// findings are PodImage's or Manifest's, which a caller may cache for good
// while it caches this for a short while.
func (c *Checker) ImageReport(ctx context.Context, img *LoadedImage, opts ImageReportOptions) (*ImageReport, error) {
	out := &ImageReport{Findings: []finding.Finding{}}
	if img == nil {
		return out, nil
	}
	ctx = engine.WithNow(ctx, c.now())
	imgOpts := c.image
	imgOpts.Platforms = nil
	if opts.Keychain != nil {
		imgOpts.Keychain = opts.Keychain
	}
	// A copy of the image document: the loaded one is shared and stays
	// as it was judged.
	doc := &document.Document{Kind: img.doc.Kind, Path: img.doc.Path, Source: img.doc.Source, Input: maps.Clone(img.doc.Input)}
	ref := img.ref
	if opts.Ref != "" && opts.Ref != ref {
		// Named as pulled this time (repository@digest).
		ref = opts.Ref
		doc.Path, doc.Input["subject"] = ref, ref
	}
	rl := &reportLookup{attached: true, opts: imgOpts}
	chosen, err := rl.find(ctx, ref, doc)
	if err != nil {
		return nil, err
	}
	attachReports(chosen, ref, doc)
	vr, _ := doc.Input["vulnerability_report"].(map[string]any)
	out.Found, _ = vr["found"].(bool)

	subject, _ := doc.Input["subject"].(string)
	var res imageResult
	var fs []finding.Finding
	for _, cr := range chosen {
		rfs, err := c.evaluateReport(ctx, cr, subject, &res)
		if err != nil {
			return nil, err
		}
		fs = append(fs, rfs...)
	}
	out.Notes = res.notes
	if !out.Found {
		// DWF404 is an image rule: the image document, now saying that
		// no report was found, is evaluated again for it alone.
		ifs, err := c.set.Engine.EvaluateOne(ctx, doc)
		if err != nil {
			return nil, err
		}
		for _, f := range ifs {
			if f.RuleID == NoReportRuleID {
				if f.Subject == "" {
					f.Subject = subject
				}
				fs = append(fs, f)
			}
		}
	}
	kept := fs[:0]
	for _, f := range fs {
		if opts.Rules == nil || slices.Contains(opts.Rules, f.RuleID) || f.RuleID == engine.ParseErrorRuleID {
			kept = append(kept, f)
		}
	}
	sources := res.sources
	if sources == nil {
		sources = map[string][]byte{}
	}
	out.Findings = c.finish(kept, sources, document.KindImage, nil)
	if out.Findings == nil {
		out.Findings = []finding.Finding{}
	}
	return out, nil
}
