package registrygate

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/internal/imagetest"
)

// TestPullJudgedWithReport: a pull through the gate is judged with the
// report attached to the image's digest: a CRITICAL vulnerability is
// refused with DENIED naming it, and with require_report an image without
// a report is refused with DWF404. Pushes are judged without reports.
func TestPullJudgedWithReport(t *testing.T) {
	addr := inProcessConfig(t, Options{}, "vulnerabilities:\n  require_report: true\n")
	img := imagetest.Spec{Platforms: []string{"linux/amd64"}}.Images(t)[0]
	vuln, _ := name.ParseReference(addr+"/team/vuln:1", name.Insecure)
	plain, _ := name.ParseReference(addr+"/team/plain:1", name.Insecure)
	for _, r := range []name.Reference{vuln, plain} {
		if err := remote.Write(r, img, remote.WithTransport(http.DefaultTransport)); err != nil {
			t.Fatalf("push of a compliant image without a report refused: %v", err)
		}
	}
	digest, _ := img.Digest()
	raw, _ := img.RawManifest()
	// Attached through the gate: a referrer is an artifact, not judged.
	imagetest.Attach(t, vuln.String(), v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: digest, Size: int64(len(raw))},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: imagetest.TrivyReport(digest.String(), "CVE-2026-4242", "CRITICAL")}, http.DefaultTransport)

	pull := func(r name.Reference) string {
		t.Helper()
		_, err := remote.Get(r, remote.WithTransport(http.DefaultTransport))
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
			t.Fatalf("pull of %s: %v, want 403", r, err)
		}
		return err.Error()
	}
	if msg := pull(vuln); !strings.Contains(msg, "DWF401") || !strings.Contains(msg, "CVE-2026-4242 (CRITICAL) in openssl 3.0.1") {
		t.Errorf("pull of an image with a CRITICAL vulnerability: %s", msg)
	}
	// The same digest in another repository has no report attached.
	if msg := pull(plain); !strings.Contains(msg, "DWF404") || !strings.Contains(msg, "No Trivy report for team/plain@"+digest.String()) {
		t.Errorf("pull of an image without a report: %s", msg)
	}
	// Cached verdict, cached report: refused again by digest.
	if msg := pull(vuln.Context().Digest(digest.String())); !strings.Contains(msg, "CVE-2026-4242") {
		t.Errorf("pull by digest: %s", msg)
	}
}

// TestNoReportsOption: NoReports judges pulls on the image alone.
func TestNoReportsOption(t *testing.T) {
	addr := inProcessConfig(t, Options{NoReports: true}, "vulnerabilities:\n  require_report: true\n")
	img := imagetest.Spec{Platforms: []string{"linux/amd64"}}.Images(t)[0]
	r, _ := name.ParseReference(addr+"/team/plain:1", name.Insecure)
	if err := remote.Write(r, img, remote.WithTransport(http.DefaultTransport)); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Get(r, remote.WithTransport(http.DefaultTransport)); err != nil {
		t.Errorf("pull with reports off: %v", err)
	}
}

// TestReportLookupFailure: a registry that fails the report lookup (its
// referrers fallback and .att tags) gets --on-error: the pull is refused
// ("could not verify") or let through with a warning.
func TestReportLookupFailure(t *testing.T) {
	var failing atomic.Bool
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && strings.Contains(r.URL.Path, "/manifests/sha256-") {
				http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}`, http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	for _, onErr := range []OnError{Deny, Allow} {
		t.Run(string(onErr), func(t *testing.T) {
			failing.Store(false)
			addr := inProcessWrapped(t, Options{OnError: onErr}, "", wrap)
			img := imagetest.Spec{Platforms: []string{"linux/amd64"}}.Images(t)[0]
			r, _ := name.ParseReference(addr+"/team/app:1", name.Insecure)
			if err := remote.Write(r, img, remote.WithTransport(http.DefaultTransport)); err != nil {
				t.Fatal(err)
			}
			failing.Store(true)
			rec := &getWarnings{inner: http.DefaultTransport}
			_, err := remote.Get(r, remote.WithTransport(rec))
			switch onErr {
			case Deny:
				var terr *transport.Error
				if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "could not verify team/app@") || !strings.Contains(err.Error(), "looking up its vulnerability report") {
					t.Errorf("pull: %v; want 403 could not verify ... looking up its vulnerability report", err)
				}
				// Clients know the gate, not the registry behind it: its
				// address and request URLs stay out of the refusal.
				if err != nil && strings.Contains(strings.ReplaceAll(err.Error(), addr, "gate"), "127.0.0.1") {
					t.Errorf("the refusal names the upstream: %v", err)
				}
			case Allow:
				if err != nil || !strings.Contains(strings.Join(rec.warnings, "\n"), "looking up its vulnerability report") {
					t.Errorf("pull: %v, warnings %q; want it let through with a warning", err, rec.warnings)
				}
			}
		})
	}
}

// getWarnings keeps the Warning headers of manifest GET responses.
type getWarnings struct {
	inner    http.RoundTripper
	warnings []string
}

func (g *getWarnings) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.inner.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
		g.warnings = append(g.warnings, resp.Header.Values("Warning")...)
	}
	return resp, err
}
