package admission

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// attachTo attaches a report to the index at ref, as oras attach does.
func attachTo(t *testing.T, ref string, idx v1.ImageIndex, report []byte) {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	imagetest.Attach(t, ref, v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: int64(len(raw))},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: report}, imagetest.Transport())
}

// TestReportJudgedAtAdmission: the report attached to an image's digest
// is judged with it. A CRITICAL vulnerability denies with its CVE and fix;
// with require_report an image without a report is DWF404, until a report
// is attached and the short "no report" answer expires.
func TestReportJudgedAtAdmission(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	f := newFixtureConfig(t, Options{Now: func() time.Time { return time.Unix(0, now.Load()) }}, "vulnerabilities:\n  require_report: true\n")

	vuln := f.reg.Ref("team/vuln:1")
	idx := imagetest.Index(t, imagetest.Spec{}.Images(t)...)
	digest := f.reg.PushIndex(t, vuln, idx)
	attachTo(t, vuln, idx, imagetest.TrivyReport(digest.String(), "CVE-2026-4242", "CRITICAL"))
	r := f.post(t, reviewJSON(t, deployment("vuln", podOpts{image: vuln}), reviewOpts{}), "")
	if r.Allowed || !strings.Contains(message(r), "DWF401 error") || !strings.Contains(message(r), "CVE-2026-4242 (CRITICAL) in openssl 3.0.1") ||
		!strings.Contains(message(r), "upgrade openssl to 3.0.14") {
		t.Errorf("an image with a CRITICAL vulnerability: allowed %v, %s", r.Allowed, message(r))
	}
	// The good image has the same digest in another repository, where no
	// report is attached: reports belong to a repository's digest.
	if digest != f.goodDigest {
		t.Fatalf("the two images differ: %s, %s", digest, f.goodDigest)
	}

	body := reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{})
	r = f.post(t, body, "")
	if r.Allowed || !strings.Contains(message(r), "DWF404 error") || !strings.Contains(message(r), "No Trivy report for "+strings.TrimSuffix(f.good, ":1")+"@") {
		t.Errorf("no report under require_report: allowed %v, %s", r.Allowed, message(r))
	}
	// A clean report attached: "no report" is trusted for NoReportTTL,
	// then looked up again.
	goodIdx := imagetest.Index(t, imagetest.Spec{}.Images(t)...)
	if d, _ := goodIdx.Digest(); d != f.goodDigest {
		t.Fatalf("the good image is not reproducible: %s, %s", d, f.goodDigest)
	}
	attachTo(t, f.good, goodIdx, imagetest.TrivyReport(f.goodDigest.String(), "CVE-2026-0001", "LOW"))
	lookups := f.reportGets.Load()
	if r := f.post(t, body, ""); r.Allowed {
		t.Errorf("within the no-report TTL the cached answer changed")
	}
	if n := f.reportGets.Load(); n != lookups {
		t.Errorf("%d report lookups within the no-report TTL", n-lookups)
	}
	now.Add(int64(DefaultNoReportTTL + time.Second))
	if r := f.post(t, body, ""); !r.Allowed {
		t.Errorf("a clean report attached, after the no-report TTL: %s", message(r))
	}
	// Found reports are trusted for ReportTTL.
	lookups = f.reportGets.Load()
	f.post(t, body, "")
	if n := f.reportGets.Load(); n != lookups {
		t.Errorf("%d report lookups within the report TTL", n-lookups)
	}
}

// TestReportLookupFailure: a registry that fails the report lookup gets
// --on-error: denied ("could not verify") or admitted with a warning.
func TestReportLookupFailure(t *testing.T) {
	for _, onErr := range []OnError{Deny, Allow} {
		t.Run(string(onErr), func(t *testing.T) {
			f := newFixture(t, Options{OnError: onErr})
			f.reportFault.Store(500)
			r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{}), "")
			want := "could not verify " + f.good + ": looking up its vulnerability report"
			switch onErr {
			case Deny:
				if r.Allowed || !strings.Contains(message(r), want) {
					t.Errorf("allowed %v, %s; want it denied saying %q", r.Allowed, message(r), want)
				}
			case Allow:
				if !r.Allowed || !strings.Contains(strings.Join(r.Warnings, "\n"), want) {
					t.Errorf("allowed %v, warnings %q; want it admitted with %q", r.Allowed, r.Warnings, want)
				}
			}
		})
	}
}

// TestNoReportRules: ReportRules empty turns the lookup off.
func TestNoReportRules(t *testing.T) {
	f := newFixtureConfig(t, Options{ReportRules: []string{}}, "vulnerabilities:\n  require_report: true\n")
	if r := f.post(t, reviewJSON(t, deployment("web", podOpts{image: f.good}), reviewOpts{}), ""); !r.Allowed {
		t.Errorf("denied: %s", message(r))
	}
	if n := f.reportGets.Load(); n != 0 {
		t.Errorf("%d report lookups with no report rules", n)
	}
}

// TestCapReportFindings: a report of many findings adds at most
// maxReportLines lines, the most severe, and one line for the rest at
// their highest severity.
func TestCapReportFindings(t *testing.T) {
	var fs []finding.Finding
	for i := range 25 {
		sev := finding.SeverityWarning
		if i%5 == 0 {
			sev = finding.SeverityError
		}
		fs = append(fs, finding.Finding{RuleID: "DWF401", Severity: sev})
	}
	kept, more := capReportFindings(fs)
	errors := 0
	for _, f := range kept {
		if f.Severity == finding.SeverityError {
			errors++
		}
	}
	if len(kept) != maxReportLines || errors != 5 || len(more) != 1 || more[0] != (moreFindings{n: 15, severity: finding.SeverityWarning, rule: "DWF401"}) {
		t.Errorf("kept %d (%d errors), more %+v", len(kept), errors, more)
	}
	if kept, more := capReportFindings(fs[:3]); len(kept) != 3 || len(more) != 0 {
		t.Errorf("a short report was cut: %d, %+v", len(kept), more)
	}
	// The findings left out keep their rules: a rule with a mode of its
	// own (--rule-mode) still decides as it would have, even when another
	// rule's findings of the same severity fill the lines kept.
	fs = nil
	for range 15 {
		fs = append(fs, finding.Finding{RuleID: "DWF401", Severity: finding.SeverityError})
	}
	fs = append(fs, finding.Finding{RuleID: "DWF499", Severity: finding.SeverityError})
	_, more = capReportFindings(fs)
	want := []moreFindings{{n: 5, severity: finding.SeverityError, rule: "DWF401"}, {n: 1, severity: finding.SeverityError, rule: "DWF499"}}
	if !slices.Equal(more, want) {
		t.Errorf("more = %+v, want %+v", more, want)
	}
}
