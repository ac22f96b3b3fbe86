package imagetest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// rawManifest is a manifest written as bytes, for what go-containerregistry
// cannot build (an artifactType).
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
func (m rawManifest) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(strings.NewReader(string(m.raw)))
	return h, err
}
func (m rawManifest) descriptor(t testing.TB) v1.Descriptor { return descriptorOf(t, m.raw, m.mt) }

func descriptorOf(t testing.TB, b []byte, mt types.MediaType) v1.Descriptor {
	t.Helper()
	h, n, err := v1.SHA256(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}
}

// Referrer describes an artifact attached to an image as `oras attach`
// writes it: an OCI image manifest with an artifactType, the empty config,
// one layer, and the image as its subject.
type Referrer struct {
	ArtifactType   string
	LayerMediaType string // default: ArtifactType
	Data           []byte
	Annotations    map[string]string // the manifest's
	// LayerSize, when not 0, is the size the layer's descriptor claims
	// (a report too large to read, without pushing that many bytes).
	LayerSize int64
}

// Attach pushes r to the repository of ref with subject as its subject and
// returns the manifest's digest. Through a registry without the referrers
// API, go-containerregistry updates the fallback tag sha256-<hex>, as oras
// does.
func Attach(t testing.TB, repoRef string, subject v1.Descriptor, r Referrer, tr http.RoundTripper) v1.Hash {
	t.Helper()
	lmt := r.LayerMediaType
	if lmt == "" {
		lmt = r.ArtifactType
	}
	repo := parseRef(t, repoRef).Context()
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	layer := static.NewLayer(r.Data, types.MediaType(lmt))
	for _, l := range []v1.Layer{cfg, layer} {
		if err := remote.WriteLayer(repo, l, remote.WithTransport(tr)); err != nil {
			t.Fatalf("pushing a blob to %s: %v", repo, err)
		}
	}
	layerDesc := descriptorOf(t, r.Data, types.MediaType(lmt))
	if r.LayerSize != 0 {
		layerDesc.Size = r.LayerSize
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"artifactType":  r.ArtifactType,
		"config":        descriptorOf(t, []byte("{}"), "application/vnd.oci.empty.v1+json"),
		"layers":        []v1.Descriptor{layerDesc},
		"subject":       v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	}
	if len(r.Annotations) > 0 {
		m["annotations"] = r.Annotations
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	man := rawManifest{raw: raw, mt: types.OCIManifestSchema1}
	d := man.descriptor(t)
	if err := remote.Put(repo.Digest(d.Digest.String()), man, remote.WithTransport(tr)); err != nil {
		t.Fatalf("attaching to %s: %v", subject.Digest, err)
	}
	return d.Digest
}

// Envelope wraps an in-toto statement in a DSSE envelope (unsigned: the
// signature is a placeholder, which is all a loader that does not verify
// reads).
func Envelope(statement []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"payloadType": "application/vnd.in-toto+json",
		"payload":     base64.StdEncoding.EncodeToString(statement),
		"signatures":  []map[string]string{{"keyid": "", "sig": "c2ln"}},
	})
	return b
}

// AttachAtt pushes cosign's legacy attestation tag sha256-<hex>.att for
// subject: a manifest whose layers are the DSSE envelopes, each annotated
// with its predicate type, and returns its digest.
func AttachAtt(t testing.TB, repoRef string, subject v1.Hash, predicateTypes []string, envelopes [][]byte, tr http.RoundTripper) v1.Hash {
	t.Helper()
	repo := parseRef(t, repoRef).Context()
	cfg := []byte(`{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	var layers []v1.Descriptor
	for i, env := range envelopes {
		if err := remote.WriteLayer(repo, static.NewLayer(env, "application/vnd.dsse.envelope.v1+json"), remote.WithTransport(tr)); err != nil {
			t.Fatal(err)
		}
		d := descriptorOf(t, env, "application/vnd.dsse.envelope.v1+json")
		d.Annotations = map[string]string{"predicateType": predicateTypes[i]}
		layers = append(layers, d)
	}
	if err := remote.WriteLayer(repo, static.NewLayer(cfg, types.OCIConfigJSON), remote.WithTransport(tr)); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIManifestSchema1,
		"config":        descriptorOf(t, cfg, types.OCIConfigJSON),
		"layers":        layers,
	})
	if err != nil {
		t.Fatal(err)
	}
	man := rawManifest{raw: raw, mt: types.OCIManifestSchema1}
	tag := repo.Tag(strings.Replace(subject.String(), ":", "-", 1) + ".att")
	if err := remote.Put(tag, man, remote.WithTransport(tr)); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return man.descriptor(t).Digest
}

// TrivyReport is a Trivy JSON report of the image digest, created now,
// with one vulnerability id of severity in openssl (fixed in 3.0.14).
func TrivyReport(digest, id, severity string) []byte {
	b, _ := json.Marshal(map[string]any{
		"SchemaVersion": 2,
		"CreatedAt":     time.Now().UTC().Format(time.RFC3339),
		"ArtifactName":  "registry.test/app",
		"ArtifactType":  "container_image",
		"Metadata":      map[string]any{"RepoDigests": []string{"registry.test/app@" + digest}},
		"Results": []any{map[string]any{
			"Target": "app (debian 12.5)", "Class": "os-pkgs", "Type": "debian",
			"Vulnerabilities": []any{map[string]any{
				"VulnerabilityID": id, "PkgName": "openssl", "InstalledVersion": "3.0.1",
				"FixedVersion": "3.0.14", "Severity": severity,
			}},
		}},
	})
	return b
}
