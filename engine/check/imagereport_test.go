package check_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// criticalReport is a Trivy JSON report of digest with one CRITICAL
// vulnerability id.
func criticalReport(digest, id string) []byte {
	var r map[string]any
	_ = json.Unmarshal(trivyJSON(digest, "2026-05-31T08:00:00Z", id), &r)
	vulns := r["Results"].([]any)[0].(map[string]any)["Vulnerabilities"].([]any)
	vulns[0].(map[string]any)["Severity"] = "CRITICAL"
	b, _ := json.Marshal(r)
	return b
}

// TestImageReport: the reports attached to an image judged apart from the
// image (as the admission doors do, caching each for its own time): a
// CRITICAL vulnerability is DWF401, no report is DWF404 under
// require_report, and a report attached after the first look is found by
// the next.
func TestImageReport(t *testing.T) {
	var failing atomic.Bool
	reg := imagetest.NewRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	tr := imagetest.Transport()
	passwd := imagetest.Layer(t, compression.ZStd, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"})
	img := imagetest.Image(t, "linux/amd64", v1.Config{User: "1001"}, passwd)
	ref := reg.Ref("team/app:1")
	digest := reg.Push(t, ref, img)
	pinned := strings.TrimSuffix(ref, ":1") + "@" + digest.String()

	dir := repo(t, map[string]string{".dwf-policy.yaml": "vulnerabilities:\n  require_report: true\n"})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	c := check.New(set, check.Options{Now: now, Image: image.Options{Transport: tr, Retries: -1}})
	if !c.NeedsReports() {
		t.Fatal("the built-in rules read reports")
	}
	pi, err := c.PodImage(context.Background(), pinned, check.PodImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(pi.Findings, func(f finding.Finding) bool { return strings.HasPrefix(f.RuleID, "DWF40") }) {
		t.Errorf("PodImage judged reports: %v", pi.Findings)
	}

	ids := func(r *check.ImageReport) []string {
		var out []string
		for _, f := range r.Findings {
			out = append(out, f.RuleID)
		}
		return out
	}
	none, err := c.ImageReport(context.Background(), pi.Image, check.ImageReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if none.Found || !slices.Equal(ids(none), []string{"DWF404"}) || none.Findings[0].Subject == "" {
		t.Errorf("no report: found %v, findings %+v; want one DWF404 with a subject", none.Found, none.Findings)
	}

	imagetest.Attach(t, ref, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: digest, Size: imgSize(t, img)},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: criticalReport(digest.String(), "CVE-2026-0100")}, tr)
	got, err := c.ImageReport(context.Background(), pi.Image, check.ImageReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Found || !slices.Equal(ids(got), []string{"DWF401"}) || !strings.Contains(got.Findings[0].Message, "CVE-2026-0100 (CRITICAL)") {
		t.Errorf("attached report: found %v, findings %+v; want one DWF401 about CVE-2026-0100", got.Found, got.Findings)
	}
	if len(got.Notes) != 1 || !strings.Contains(got.Notes[0], "judged with the Trivy report") {
		t.Errorf("notes %q", got.Notes)
	}
	// The loaded image was not changed by the lookups.
	again, err := c.ImageReport(context.Background(), pi.Image, check.ImageReportOptions{Rules: []string{"DWF402"}})
	if err != nil || len(again.Findings) != 0 {
		t.Errorf("only DWF402 asked for: %v %v", again.Findings, err)
	}

	// A registry that fails is an error, not "no report".
	failing.Store(true)
	if _, err := c.ImageReport(context.Background(), pi.Image, check.ImageReportOptions{}); err == nil {
		t.Error("a registry that is down gave no error")
	}
}
