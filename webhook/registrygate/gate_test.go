package registrygate

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/devflow/dwf-policy/engine/check"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/internal/policytest"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want kind
	}{
		{"image", `{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd"}]}`, kindImage},
		{"docker image", `{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip"}]}`, kindImage},
		{"cosign signature", `{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json"}]}`, kindArtifact},
		{"helm chart", `{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json"},"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip"}]}`, kindArtifact},
		{"artifactType", `{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json"},"layers":[]}`, kindArtifact},
		{"index of images", `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","platform":{"os":"linux","architecture":"amd64"}}]}`, kindImage},
		{"index of attestations", `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","platform":{"os":"unknown","architecture":"unknown"}}]}`, kindArtifact},
		{"index with artifactType", `{"mediaType":"application/vnd.oci.image.index.v1+json","artifactType":"application/vnd.example","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json"}]}`, kindArtifact},
		{"schema 1", `{"schemaVersion":1,"name":"x","fsLayers":[]}`, kindImage},
		{"not JSON", `{`, kindUnknown},
	} {
		if got := classify([]byte(tc.raw)); got != tc.want {
			t.Errorf("%s: classify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseManifestPath(t *testing.T) {
	for p, want := range map[string]string{
		"/v2/app/manifests/1.0":                 "app 1.0",
		"/v2/team/sub/app/manifests/sha256:abc": "team/sub/app sha256:abc",
		"/v2/App/manifests/1.0":                 "",
		"/v2/app/blobs/sha256:abc":              "",
		"/v2/../manifests/x":                    "",
		"/v2/app/manifests/1.0/extra":           "",
		"/v2/a__b/manifests/latest":             "a__b latest",
	} {
		repo, ref, ok := parseManifestPath(p)
		got := ""
		if ok {
			got = repo + " " + ref
		}
		if got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
}

// inProcess starts go-containerregistry's registry over plain HTTP on
// loopback and a gate with o in front of it; it returns the gate's address.
func inProcess(t *testing.T, o Options) (gateAddr string) {
	t.Helper()
	return inProcessConfig(t, o, "")
}

// inProcessConfig is inProcess with cfg as the policy set's
// .dwf-policy.yaml.
func inProcessConfig(t *testing.T, o Options, cfg string) (gateAddr string) {
	t.Helper()
	return inProcessWrapped(t, o, cfg, nil)
}

// inProcessWrapped is inProcessConfig with wrap, when not nil, in front of
// the registry (to inject failures).
func inProcessWrapped(t *testing.T, o Options, cfg string, wrap func(http.Handler) http.Handler) (gateAddr string) {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	set, hash := policytest.Open(t, cfg, nil)
	o.Upstream = u
	o.Checker = check.New(set, check.Options{Image: image.Options{InsecureRegistries: []string{u.Host}, Keychain: authn.NewMultiKeychain()}})
	o.PolicyHash = hash
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestModes(t *testing.T) {
	root := "0"
	bad := imagetest.Spec{Platforms: []string{"linux/amd64"}, PlatformSpec: imagetest.PlatformSpec{User: &root}}.Images(t)[0]
	push := func(addr string) (warnings []string, err error) {
		r, _ := name.ParseReference(addr+"/team/app:1", name.Insecure)
		rec := &warningRecorder{inner: http.DefaultTransport}
		err = remote.Write(r, bad, remote.WithTransport(rec))
		return rec.warnings, err
	}
	t.Run("enforce", func(t *testing.T) {
		_, err := push(inProcess(t, Options{}))
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
			t.Errorf("err = %v, want 403", err)
		}
	})
	t.Run("warn", func(t *testing.T) {
		w, err := push(inProcess(t, Options{Mode: Warn}))
		if err != nil {
			t.Fatalf("push: %v", err)
		}
		if len(w) != 1 || !strings.HasPrefix(w[0], `299 - "dwf-policy refused`) || !strings.Contains(w[0], "DWF301") {
			t.Errorf("warnings = %q, want one naming DWF301", w)
		}
	})
	t.Run("audit", func(t *testing.T) {
		w, err := push(inProcess(t, Options{Mode: Audit}))
		if err != nil || len(w) != 0 {
			t.Errorf("push: %v, warnings %q; want it forwarded silently", err, w)
		}
	})
	t.Run("exempt repository", func(t *testing.T) {
		if _, err := push(inProcess(t, Options{Exempt: []string{"team/*"}})); err != nil {
			t.Errorf("push to an exempt repository: %v", err)
		}
	})
}

// warningRecorder keeps the Warning headers of manifest PUT responses.
type warningRecorder struct {
	inner    http.RoundTripper
	warnings []string
}

func (w *warningRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.inner.RoundTrip(r)
	if err == nil && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
		w.warnings = append(w.warnings, resp.Header.Values("Warning")...)
	}
	return resp, err
}

func TestNewAcceptsReconciliation(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:5000")
	for _, r := range []Reconcile{
		{},
		{Interval: time.Minute, Repositories: []string{"team/app"}},
		{Interval: time.Minute, Catalog: true},
	} {
		if _, err := New(Options{Upstream: u, Checker: &check.Checker{}, PolicyHash: "h", Reconcile: r}); err != nil {
			t.Errorf("New with %+v: %v", r, err)
		}
	}
	if _, err := New(Options{Upstream: u, Checker: &check.Checker{}, PolicyHash: "h", Only: []string{"team/app"}, Reconcile: Reconcile{Interval: time.Minute}}); err != nil {
		t.Errorf("New reconciling a --gate-only name: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	u := func(s string) *url.URL { v, _ := url.Parse(s); return v }
	for _, o := range []Options{
		{},
		{Upstream: u("ftp://x")},
		{Upstream: u("http://127.0.0.1:5000/prefix")},
		{Upstream: u("http://user:pw@127.0.0.1:5000")},
		{Upstream: u("http://127.0.0.1:5000"), Checker: &check.Checker{}, PolicyHash: "h", Mode: "loud"},
		{Upstream: u("http://127.0.0.1:5000"), Checker: &check.Checker{}, PolicyHash: "h", Exempt: []string{"["}},
		// Reconciliation with nothing to list, a bad name, a negative rate.
		{Upstream: u("http://127.0.0.1:5000"), Checker: &check.Checker{}, PolicyHash: "h", Reconcile: Reconcile{Interval: time.Minute}},
		{Upstream: u("http://127.0.0.1:5000"), Checker: &check.Checker{}, PolicyHash: "h", Only: []string{"team/*"}, Reconcile: Reconcile{Interval: time.Minute}},
		{Upstream: u("http://127.0.0.1:5000"), Checker: &check.Checker{}, PolicyHash: "h", Reconcile: Reconcile{Interval: time.Minute, Repositories: []string{"Team/App"}}},
		{Upstream: u("http://127.0.0.1:5000"), Checker: &check.Checker{}, PolicyHash: "h", Reconcile: Reconcile{Interval: time.Minute, Catalog: true, Rate: -1}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestAcceptsSARIF(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                       false,
		"application/json":       false,
		"application/sarif+json": true,
		"application/json, application/sarif+json;q=0.9": true,
		"application/sarif+json;q=0":                     false,
		"text/plain, */*":                                false,
	} {
		if got := acceptsSARIF([]string{accept}); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
}

// TestVerdictMessageBounded: a refusal names at most maxMessageLines
// findings, however many an attached report gives, and counts the rest.
func TestVerdictMessageBounded(t *testing.T) {
	var fs []finding.Finding
	for i := range 500 {
		fs = append(fs, finding.Finding{RuleID: "DWF401", Severity: finding.SeverityError, Message: fmt.Sprintf("CVE-2026-%04d in openssl", i)})
	}
	v := newVerdict("team/app", "sha256:ab", "h", "pull", finding.SeverityError, fs, time.Time{})
	if v.Compliant || strings.Count(v.Message, "DWF401") != maxMessageLines || !strings.Contains(v.Message, "and 480 more findings") {
		t.Errorf("message of %d bytes, %d findings named: %.200s", len(v.Message), strings.Count(v.Message, "DWF401"), v.Message)
	}
}
