package check

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/input/trivyreport"
	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// reportLookup says where the vulnerability report of each image checked
// by Images comes from: one file given by the caller, or the reports
// attached to the image's digests in its registry.
type reportLookup struct {
	// path and data are the report file (--trivy-report), read once.
	path string
	data []byte
	// attached: look in the registry (image.Reports).
	attached bool
	opts     image.Options
}

// newReportLookup reads the report file of opts, if any. The error is
// about opts: the file cannot be read.
func (c *Checker) newReportLookup(opts ImagesOptions, imgOpts image.Options) (*reportLookup, error) {
	rl := &reportLookup{opts: imgOpts}
	if opts.TrivyReport != "" {
		file := repopath.Abs(c.set.WorkDir, opts.TrivyReport)
		data, err := repofile.ReadFile(file, trivyreport.DefaultMaxBytes)
		if err != nil {
			return nil, &OptionError{Option: "TrivyReport", Err: fmt.Errorf("%s: %w", opts.TrivyReport, err)}
		}
		rl.path, rl.data = repopath.Display(c.set.WorkDir, file), data
		return rl, nil
	}
	rl.attached = !opts.NoAttachedReports && c.needsReports()
	return rl, nil
}

// needsReports reports whether a rule reads a report judged with an
// image: a rule of the trivy-report kind, or one of the image kind that
// reads vulnerability_report (DWF404).
func (c *Checker) needsReports() bool {
	for _, r := range c.set.Engine.Rules() {
		if r.Severity != finding.SeverityNone && (r.Kind == document.KindTrivyReport || r.ID == NoReportRuleID) {
			return true
		}
	}
	return false
}

// NoReportRuleID is the rule that reads whether an image has a report.
const NoReportRuleID = "DWF404"

// chosenReport is the report judged with one image.
type chosenReport struct {
	doc     *document.Document // nil when the report does not parse
	perr    *document.ParseError
	source  string // file, referrers or att-tag
	ref     string // the file as findings name it, or repository@digest
	created string
	data    []byte
	note    string
}

// find returns the report of an image document, or nil when there is
// none. err is a registry failure while looking.
func (rl *reportLookup) find(ctx context.Context, ref string, img *document.Document) (*chosenReport, error) {
	if rl.path != "" {
		cr := &chosenReport{source: "file", ref: rl.path, data: rl.data}
		doc, err := trivyreport.Parse(rl.path, rl.data, trivyreport.Options{})
		if perr, ok := errors.AsType[*document.ParseError](err); ok {
			cr.perr = perr
			return cr, nil
		}
		if err != nil {
			return nil, err
		}
		cr.doc, cr.created = doc, str(doc.Input["created_at"])
		return cr, nil
	}
	if !rl.attached {
		return nil, nil
	}
	// The image's own digest (the index's, or the single manifest's): the
	// digest `trivy image`, `cosign attest` and `oras attach` are given.
	// Platform manifests are not looked up: three more requests each.
	digests, _ := imageDigests(img)
	found, err := image.Reports(ctx, ref, digests[:min(len(digests), 1)], rl.opts)
	if err != nil {
		return nil, err
	}
	var best *chosenReport
	var bestTime time.Time
	var skipped []string
	for _, a := range found {
		doc, err := trivyreport.Parse(a.Ref, a.Data, trivyreport.Options{})
		if err != nil {
			// An attestation of another predicate type, a SARIF report,
			// a broken one: not a report this check can use.
			skipped = append(skipped, fmt.Sprintf("%s (%v)", a.Ref, err))
			continue
		}
		created := str(doc.Input["created_at"])
		if created == "" {
			created = a.Created
		}
		t, _ := time.Parse(time.RFC3339Nano, created)
		if best == nil || t.After(bestTime) {
			best = &chosenReport{doc: doc, source: a.Via, ref: a.Ref, created: created, data: a.Data}
			bestTime = t
		}
	}
	if best == nil {
		if len(skipped) > 0 {
			return &chosenReport{note: fmt.Sprintf("%s: no usable Trivy report among those attached: %s", ref, joinMax(skipped, 3))}, nil
		}
		return nil, nil
	}
	when := best.created
	if when == "" {
		when = "no creation time"
	}
	best.note = fmt.Sprintf("%s: judged with the Trivy report %s (%s, created %s)", ref, best.ref, viaText(best.source), when)
	if n := len(found) - len(skipped); n > 1 {
		best.note += fmt.Sprintf(", the newest of %d attached", n)
	}
	if len(skipped) > 0 {
		best.note += fmt.Sprintf("; not reports: %s", joinMax(skipped, 3))
	}
	return best, nil
}

func viaText(source string) string {
	switch source {
	case "att-tag":
		return "cosign's .att tag"
	case "referrers":
		return "an OCI referrer"
	}
	return source
}

func joinMax(items []string, n int) string {
	out := ""
	for i, s := range items {
		if i == n {
			return out + fmt.Sprintf(" and %d more", len(items)-n)
		}
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// imageDigests are the digests of an image document (its own and every
// platform manifest's) and its platforms' config digests.
func imageDigests(img *document.Document) (digests, configs []string) {
	if d := str(img.Input["digest"]); d != "" {
		digests = append(digests, d)
	}
	platforms, _ := img.Input["platforms"].([]any)
	for _, p := range platforms {
		pm, _ := p.(map[string]any)
		if d := str(pm["digest"]); d != "" && (len(digests) == 0 || d != digests[0]) {
			digests = append(digests, d)
		}
		if d := str(pm["config_digest"]); d != "" {
			configs = append(configs, d)
		}
	}
	return digests, configs
}

// attach records on the image document what was found, and on the report
// document the image it is judged with.
func (cr *chosenReport) attach(ref string, img *document.Document) {
	vr := image.NoReportLookup()
	vr["looked_up"] = true
	if cr != nil && (cr.doc != nil || cr.perr != nil) {
		vr["found"], vr["source"], vr["reference"], vr["created_at"] = true, cr.source, cr.ref, cr.created
	}
	img.Input["vulnerability_report"] = vr
	if cr == nil || cr.doc == nil {
		return
	}
	digests, configs := imageDigests(img)
	cr.doc.Input["image"] = map[string]any{
		"reference":        ref,
		"subject":          str(img.Input["subject"]),
		"digests":          anyOf(digests),
		"config_digests":   anyOf(configs),
		"report_source":    cr.source,
		"report_reference": cr.ref,
	}
}

func anyOf(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
