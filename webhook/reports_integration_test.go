package webhook_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// TestIntegrationGateReport: an image pushed through the gate to the real
// docker-registry (no referrers API: go-containerregistry maintains the
// fallback tag, through the gate), then a Trivy report with a CRITICAL
// vulnerability attached to its digest the way oras does: the next pull
// through the gate is refused, naming the vulnerability.
func TestIntegrationGateReport(t *testing.T) {
	upstream := imagetest.RealRegistry(t, "./webhook")
	// "No report" is not kept: the pull after the attachment looks again.
	g := startGate(t, "http://"+upstream, registrygate.Options{NoReportTTL: time.Nanosecond})
	img := unique(t, "1001")
	r := ref(t, g.addr+"/dwf-it/gate-report:1")
	if err := remote.Write(r, img, remote.WithTransport(http.DefaultTransport)); err != nil {
		t.Fatalf("push of a compliant image: %v", err)
	}
	if _, err := remote.Get(r, remote.WithTransport(http.DefaultTransport)); err != nil {
		t.Fatalf("pull before a report is attached: %v", err)
	}
	digest := digestOf(t, img)
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	report, _ := json.Marshal(map[string]any{
		"SchemaVersion": 2,
		"CreatedAt":     time.Now().UTC().Format(time.RFC3339),
		"ArtifactName":  r.String(),
		"Metadata":      map[string]any{"RepoDigests": []string{r.Context().Name() + "@" + digest.String()}},
		"Results": []any{map[string]any{"Target": "app", "Class": "os-pkgs", "Vulnerabilities": []any{map[string]any{
			"VulnerabilityID": "CVE-2026-7777", "PkgName": "zlib", "InstalledVersion": "1.2.13", "FixedVersion": "1.3.1", "Severity": "CRITICAL",
		}}}},
	})
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	imagetest.Attach(t, r.String(), v1.Descriptor{MediaType: mt, Digest: digest, Size: int64(len(raw))},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: report}, http.DefaultTransport)
	_, err = remote.Get(r, remote.WithTransport(http.DefaultTransport))
	if msg := denied(t, err); !strings.Contains(msg, "DWF401") || !strings.Contains(msg, "CVE-2026-7777 (CRITICAL) in zlib 1.2.13") {
		t.Errorf("pull of an image with a CRITICAL report: %s", msg)
	}
}
