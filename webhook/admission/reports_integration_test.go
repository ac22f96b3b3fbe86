package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/policyset"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// TestIntegrationAdmissionReport: against the real docker-registry
// (distribution 2.x, no referrers API: the report is found through the
// fallback tag), a Deployment of an image with a CRITICAL vulnerability in
// its attached report is denied, and with require_report one of an image
// without a report is denied with DWF404.
func TestIntegrationAdmissionReport(t *testing.T) {
	addr := imagetest.RealRegistry(t, "./webhook/admission")
	base := fmt.Sprintf("%s/dwf-it/admission-report-%d", addr, time.Now().UnixNano())
	vuln, plain := base+"/vuln:1", base+"/plain:1"
	idx := imagetest.Index(t, imagetest.Spec{}.Images(t)...)
	for _, ref := range []string{vuln, plain} {
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(r, idx, remote.WithTransport(http.DefaultTransport)); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := idx.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	imagetest.Attach(t, vuln, v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: imagetest.TrivyReport(d.String(), "CVE-2026-5151", "CRITICAL")}, http.DefaultTransport)

	dir := t.TempDir()
	cfg := filepath.Join(dir, ".dwf-policy.yaml")
	if err := os.WriteFile(cfg, []byte("vulnerabilities:\n  require_report: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir, ConfigFile: cfg, NoConfigSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := set.Hash()
	if err != nil {
		t.Fatal(err)
	}
	wh, err := New(Options{PolicyHash: hash, Checker: check.New(set, check.Options{Image: image.Options{
		InsecureRegistries: []string{addr}, UntrustedReferences: true, TrustedRegistries: []string{addr}, Retries: -1}})})
	if err != nil {
		t.Fatal(err)
	}
	review := func(ref string) *admissionv1.AdmissionResponse {
		t.Helper()
		var ar admissionv1.AdmissionReview
		if err := json.Unmarshal(reviewJSON(t, deployment("web", podOpts{image: ref}), reviewOpts{}), &ar); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := wh.Review(ctx, ar.Request)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := review(vuln); r.Allowed || !strings.Contains(message(r), "DWF401") || !strings.Contains(message(r), "CVE-2026-5151 (CRITICAL) in openssl 3.0.1") {
		t.Errorf("an image with a CRITICAL vulnerability: allowed %v, %s", r.Allowed, message(r))
	}
	if r := review(plain); r.Allowed || !strings.Contains(message(r), "DWF404") {
		t.Errorf("an image without a report: allowed %v, %s", r.Allowed, message(r))
	}
}
