package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// find returns the reports of an image document (none when there is
// none; a chosenReport with only a note when nothing attached was
// usable). err is a registry failure while looking.
//
// Attached reports are looked up on the image's own digest (the index's,
// or the single manifest's: the digest `trivy image`, `cosign attest` and
// `oras attach` are given) and on each platform manifest's digest: a report
// attached to a platform manifest counts for that platform, one attached to
// the index for every platform. Each platform is judged with the newer of
// the two; platforms that end up with the same report share its findings.
func (rl *reportLookup) find(ctx context.Context, ref string, img *document.Document) ([]*chosenReport, error) {
	if rl.path != "" {
		cr := &chosenReport{source: "file", ref: rl.path, data: rl.data}
		doc, err := trivyreport.Parse(rl.path, rl.data, trivyreport.Options{})
		if perr, ok := errors.AsType[*document.ParseError](err); ok {
			cr.perr = perr
			return []*chosenReport{cr}, nil
		}
		if err != nil {
			return nil, err
		}
		cr.doc, cr.created = doc, str(doc.Input["created_at"])
		return []*chosenReport{cr}, nil
	}
	if !rl.attached {
		return nil, nil
	}
	digests, _ := imageDigests(img)
	found, err := image.Reports(ctx, ref, digests, rl.opts)
	if err != nil {
		return nil, err
	}
	return chooseReports(ref, img, found), nil
}

// chooseReports parses the reports found and picks, for the image and for
// each platform, the newest usable one.
func chooseReports(ref string, img *document.Document, found []image.Attached) []*chosenReport {
	newest := map[string]*chosenReport{} // by subject digest
	times := map[string]time.Time{}
	count := map[string]int{}
	var skipped []string
	for _, a := range found {
		if a.Unread != "" {
			skipped = append(skipped, fmt.Sprintf("%s (%s)", a.Ref, a.Unread))
			continue
		}
		doc, err := trivyreport.Parse(a.Ref, a.Data, trivyreport.Options{})
		if err != nil {
			// An attestation of another predicate type, a broken
			// report: not a report this check can use.
			skipped = append(skipped, fmt.Sprintf("%s (%v)", a.Ref, err))
			continue
		}
		created := str(doc.Input["created_at"])
		if created == "" && a.Created != "" {
			// A SARIF log (or an old report) has no time of its own:
			// the time it was attached stands in for it.
			created = a.Created
			doc.Input["created_at"] = created
		}
		t, _ := time.Parse(time.RFC3339Nano, created)
		count[a.Subject]++
		if best := newest[a.Subject]; best == nil || t.After(times[a.Subject]) {
			newest[a.Subject] = &chosenReport{doc: doc, source: a.Via, ref: a.Ref, created: created, data: a.Data}
			times[a.Subject] = t
		}
	}
	digests, _ := imageDigests(img)
	var root string
	if len(digests) > 0 {
		root = digests[0]
	}
	// Which report each platform is judged with, in platform order.
	var chosen []*chosenReport
	platformsOf := map[*chosenReport][]string{}
	pick := func(cr *chosenReport, platform string) {
		if cr == nil {
			return
		}
		ps, seen := platformsOf[cr]
		if !seen {
			chosen = append(chosen, cr)
		}
		if platform != "" {
			ps = append(ps, platform)
		}
		platformsOf[cr] = ps
	}
	platforms, _ := img.Input["platforms"].([]any)
	perPlatform := false
	for _, p := range platforms {
		pm, _ := p.(map[string]any)
		if d := str(pm["digest"]); d != "" && d != root && newest[d] != nil {
			perPlatform = true
		}
	}
	if !perPlatform {
		pick(newest[root], "")
	} else {
		for _, p := range platforms {
			pm, _ := p.(map[string]any)
			d, name := str(pm["digest"]), str(pm["platform"])
			own, shared := newest[d], newest[root]
			if own == nil || (shared != nil && times[root].After(times[d])) {
				own = shared
			}
			pick(own, name)
		}
	}
	if len(chosen) == 0 {
		if len(skipped) > 0 {
			return []*chosenReport{{note: fmt.Sprintf("%s: no usable Trivy report among those attached: %s", ref, joinMax(skipped, 3))}}
		}
		return nil
	}
	for i, cr := range chosen {
		when := cr.created
		if when == "" {
			when = "no creation time"
		}
		cr.note = fmt.Sprintf("%s: judged with the Trivy report %s (%s, created %s)", ref, cr.ref, viaText(cr.source), when)
		if ps := platformsOf[cr]; len(ps) > 0 {
			cr.note += " for " + strings.Join(ps, ", ")
		}
		subject := ""
		for s, best := range newest {
			if best == cr {
				subject = s
			}
		}
		if n := count[subject]; n > 1 {
			cr.note += fmt.Sprintf(", the newest of %d attached", n)
		}
		if i == 0 && len(skipped) > 0 {
			cr.note += fmt.Sprintf("; not reports: %s", joinMax(skipped, 3))
		}
	}
	return chosen
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

// attachReports records on the image document what was found, and on
// each report document the image it is judged with.
func attachReports(reports []*chosenReport, ref string, img *document.Document) {
	vr := image.NoReportLookup()
	vr["looked_up"] = true
	for _, cr := range reports {
		if cr.doc != nil || cr.perr != nil {
			vr["found"], vr["source"], vr["reference"], vr["created_at"] = true, cr.source, cr.ref, cr.created
			break
		}
	}
	img.Input["vulnerability_report"] = vr
	digests, configs := imageDigests(img)
	for _, cr := range reports {
		if cr.doc == nil {
			continue
		}
		cr.doc.Input["image"] = map[string]any{
			"reference":        ref,
			"subject":          str(img.Input["subject"]),
			"digests":          anyOf(digests),
			"config_digests":   anyOf(configs),
			"report_source":    cr.source,
			"report_reference": cr.ref,
		}
	}
}

func anyOf(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
