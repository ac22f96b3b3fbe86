package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Artifact types and media types of the vulnerability reports Reports
// recognises. Trivy has no artifact type of its own for its JSON report;
// application/vnd.aquasec.trivy.report+json is the one in use with `oras
// attach` (and application/json is accepted for the report layer). cosign
// 2.x in OCI 1.1 mode attaches a Sigstore bundle whose predicate type is in
// the dev.sigstore.bundle.predicateType annotation (which its fallback-tag
// writes drop, so the bundle is read to know); cosign's legacy scheme
// stores DSSE envelopes as the layers of the tag sha256-<hex>.att, each
// with a predicateType annotation.
const (
	ArtifactTypeTrivyJSON = "application/vnd.aquasec.trivy.report+json"
	ArtifactTypeSARIF     = "application/sarif+json"
	ArtifactTypeBundle    = "application/vnd.dev.sigstore.bundle.v0.3+json"
	MediaTypeDSSE         = "application/vnd.dsse.envelope.v1+json"
	MediaTypeInToto       = "application/vnd.in-toto+json"
	// VulnPredicateType is cosign's vulnerability predicate, which Trivy's
	// --format cosign-vuln writes.
	VulnPredicateType = "https://cosign.sigstore.dev/attestation/vuln/v1"

	annotationCreated       = "org.opencontainers.image.created"
	annotationPredicateType = "predicateType"
	annotationBundlePred    = "dev.sigstore.bundle.predicateType"
)

// MaxReportBytes caps one attached report, as the trivy-report input kind
// caps a report file.
const MaxReportBytes = 64 << 20

// maxReportsBytes bounds the report bytes one Reports call reads, all
// digests and referrers together: up to maxReferrers reports of
// MaxReportBytes each, on several digests at once, would be gigabytes held
// by one lookup (a pod's author picks the image, and what is attached to
// it). A variable for tests.
var maxReportsBytes int64 = 2 * MaxReportBytes

// maxReferrers bounds the referrers and .att layers read for one digest:
// a registry lists every signature and SBOM too, and only candidates by
// type are fetched.
const maxReferrers = 32

// Attached is a vulnerability report attached to an image in its
// registry. Data is the report as stored: a Trivy JSON report, an in-toto
// statement or a DSSE envelope (a Sigstore bundle is unwrapped to its
// envelope). Nothing here is verified beyond digests: a report is trusted
// as far as write access to the repository is. Signature verification
// would check Data (or the bundle) before it is parsed.
type Attached struct {
	// Subject is the digest the report is attached to (the index's or a
	// platform manifest's).
	Subject string
	// Ref names the manifest that carries the report: repository@digest.
	Ref string
	// Digest is that manifest's digest; Layer is the blob's.
	Digest, Layer string
	// Via is how it was found: "referrers" (the OCI 1.1 API or its
	// fallback tag) or "att-tag" (cosign's sha256-<hex>.att).
	Via string
	// ArtifactType is the referrer's artifact type, or the layer's media
	// type for an .att layer.
	ArtifactType string
	// Created is the org.opencontainers.image.created annotation, or "".
	Created string
	Data    []byte
	// Unread says why Data is nil: the report is larger than
	// MaxReportBytes, or than what is left of the lookup's budget for all
	// the reports of the image. It was not fetched; it is no report to
	// judge.
	Unread string
}

// Reports finds the vulnerability reports attached to digests (an image's
// digest and its platform manifests' digests; each Attached names the one
// it is attached to) in the repository of ref: the OCI 1.1 referrers API,
// go-containerregistry's fallback to the referrers tag scheme (sha256-<hex>)
// for registries without it, and cosign's sha256-<hex>.att tag. The
// digests are looked up a few at a time, one referrers list each.
// Only registry references are looked up; oci-layout: and tarball:
// references have no registry and yield nothing. A digest with nothing
// attached is no error. Report blobs and manifests are cached by digest
// like configs; the lists themselves (the referrers index, the tags)
// change and are fetched each time.
func Reports(ctx context.Context, ref string, digests []string, opts Options) ([]Attached, error) {
	if strings.HasPrefix(ref, "oci-layout:") || strings.HasPrefix(ref, "tarball:") || len(digests) == 0 {
		return nil, nil
	}
	o := opts.withDefaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	ctx = context.WithValue(ctx, parentKey{}, parent)
	defer cancel()
	src, err := newRegistrySource(ref, &o)
	if err != nil {
		return nil, o.wrapReports(ctx, ref, err)
	}
	defer src.close()
	src.reportBytes.Store(maxReportsBytes)
	found := make([][]Attached, len(digests))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxReportLookupsAtOnce)
	for i, d := range digests {
		g.Go(func() error {
			var err error
			found[i], err = src.reports(gctx, d)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, o.wrapReports(ctx, ref, err)
	}
	return slices.Concat(found...), nil
}

// maxReportLookupsAtOnce bounds the digests of one image looked up at the
// same time (an index and its platform manifests).
const maxReportLookupsAtOnce = 4

func (o *Options) wrapReports(ctx context.Context, ref string, err error) error {
	err = o.wrap(ctx, ref, err)
	return fmt.Errorf("looking up attached vulnerability reports: %w", err)
}

// reports finds the reports attached to one digest.
func (s *registrySource) reports(ctx context.Context, digest string) ([]Attached, error) {
	repo := s.ref.Context()
	d := repo.Digest(digest)
	var out []Attached

	idx, err := remote.Referrers(d, s.remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", digest, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", digest, err)
	}
	n := 0
	for _, desc := range im.Manifests {
		if !candidate(desc) {
			continue
		}
		if n++; n > maxReferrers {
			break
		}
		a, ok, err := s.referrer(ctx, digest, desc)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, a)
		}
	}

	att, err := s.attTag(ctx, digest)
	if err != nil {
		return nil, err
	}
	return append(out, att...), nil
}

// candidate reports whether a referrer may be a vulnerability report by its
// artifact type (and, when present, its predicate type annotation).
func candidate(desc v1.Descriptor) bool {
	switch desc.ArtifactType {
	case ArtifactTypeTrivyJSON, ArtifactTypeSARIF, MediaTypeInToto, MediaTypeDSSE:
		return true
	case ArtifactTypeBundle:
		p := desc.Annotations[annotationBundlePred]
		return p == "" || p == VulnPredicateType
	}
	return false
}

// remoteOptions are the options of the source's puller for calls that take
// options rather than a puller.
func (s *registrySource) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.Reuse(s.puller), remote.WithContext(ctx)}
}

// referrer reads the report a referrer manifest carries: its first layer
// of a report media type.
func (s *registrySource) referrer(ctx context.Context, subject string, desc v1.Descriptor) (Attached, bool, error) {
	raw, err := s.manifest(ctx, desc)
	if err != nil {
		return Attached{}, false, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return Attached{}, false, nil // not an image manifest: not a report
	}
	artifactType := desc.ArtifactType
	if m.Config.MediaType != "" && !isEmptyConfig(m.Config.MediaType) && artifactType == "" {
		artifactType = string(m.Config.MediaType)
	}
	created := m.Annotations[annotationCreated]
	if created == "" {
		created = desc.Annotations[annotationCreated]
	}
	for _, l := range m.Layers {
		if !reportLayer(l.MediaType) {
			continue
		}
		a := Attached{
			Subject: subject, Ref: s.ref.Context().Digest(desc.Digest.String()).String(),
			Digest: desc.Digest.String(), Layer: l.Digest.String(), Via: "referrers",
			ArtifactType: artifactType, Created: created,
		}
		data, err := s.reportBlob(ctx, l)
		if errors.Is(err, errReportTooLarge) || errors.Is(err, errReportsBudget) {
			a.Unread = err.Error()
			return a, true, nil
		}
		if err != nil {
			return Attached{}, false, err
		}
		if artifactType == ArtifactTypeBundle {
			if data = bundleEnvelope(data); data == nil {
				return Attached{}, false, nil
			}
		}
		a.Data = data
		return a, true, nil
	}
	return Attached{}, false, nil
}

func isEmptyConfig(mt types.MediaType) bool {
	return mt == "application/vnd.oci.empty.v1+json" || mt == types.OCIConfigJSON
}

// reportLayer reports whether a layer's media type may hold a report.
func reportLayer(mt types.MediaType) bool {
	switch string(mt) {
	case ArtifactTypeTrivyJSON, "application/json", MediaTypeDSSE, MediaTypeInToto, ArtifactTypeBundle, ArtifactTypeSARIF:
		return true
	}
	return false
}

// bundleEnvelope returns the DSSE envelope of a Sigstore bundle, or nil.
func bundleEnvelope(data []byte) []byte {
	var b struct {
		DSSEEnvelope json.RawMessage `json:"dsseEnvelope"`
	}
	if json.Unmarshal(data, &b) != nil || len(b.DSSEEnvelope) == 0 {
		return nil
	}
	return b.DSSEEnvelope
}

// attTag reads cosign's legacy attestation tag sha256-<hex>.att: a
// manifest whose layers are DSSE envelopes, one per attestation, with
// their predicate type in an annotation. Layers of other predicate types
// are left alone.
func (s *registrySource) attTag(ctx context.Context, digest string) ([]Attached, error) {
	tag := s.ref.Context().Tag(strings.Replace(digest, ":", "-", 1) + ".att")
	desc, err := s.puller.Get(ctx, tag)
	if terr, ok := errors.AsType[*transport.Error](err); ok && (terr.StatusCode == http.StatusNotFound || slices.ContainsFunc(terr.Errors, func(d transport.Diagnostic) bool {
		return d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode
	})) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, nil
	}
	var out []Attached
	for i, l := range m.Layers {
		if i >= maxReferrers {
			break
		}
		if l.MediaType != MediaTypeDSSE {
			continue
		}
		if p, ok := l.Annotations[annotationPredicateType]; ok && p != VulnPredicateType {
			continue
		}
		a := Attached{
			Subject: digest, Ref: s.ref.Context().Digest(desc.Digest.String()).String(),
			Digest: desc.Digest.String(), Layer: l.Digest.String(), Via: "att-tag",
			ArtifactType: string(l.MediaType), Created: l.Annotations[annotationCreated],
		}
		data, err := s.reportBlob(ctx, l)
		if errors.Is(err, errReportTooLarge) || errors.Is(err, errReportsBudget) {
			a.Unread = err.Error()
		} else if err != nil {
			return nil, err
		}
		a.Data = data
		out = append(out, a)
	}
	return out, nil
}

// reportBlob reads a report blob, capped and verified, through the cache,
// within what is left of the lookup's maxReportsBytes.
func (s *registrySource) reportBlob(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if d.Size > MaxReportBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d-byte limit", errReportTooLarge, d.Size, MaxReportBytes)
	}
	// The size the descriptor gives is taken before reading; a blob that
	// turns out larger is charged the difference.
	if s.reportBytes.Add(-d.Size) < 0 {
		s.reportBytes.Add(d.Size)
		return nil, fmt.Errorf("%w (%d bytes)", errReportsBudget, maxReportsBytes)
	}
	b, err := s.readReportBlob(ctx, d)
	if err != nil {
		s.reportBytes.Add(d.Size)
		return nil, err
	}
	s.reportBytes.Add(d.Size - int64(len(b)))
	return b, nil
}

// errReportsBudget: the reports attached to an image are together larger
// than one lookup reads.
var errReportsBudget = errors.New("the reports attached are together too large to read")

func (s *registrySource) readReportBlob(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if b, ok := s.cache.blob("reports", d.Digest); ok {
		return b, nil
	}
	l, err := s.puller.Layer(ctx, s.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return nil, fmt.Errorf("fetching report %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching report %s: %w", d.Digest, err)
	}
	defer rc.Close()
	b, err := readCapped(mismatchReader{rc, "report " + d.Digest.String()}, MaxReportBytes)
	if _, ok := errors.AsType[*capError](err); ok {
		// The descriptor said less than the blob holds.
		return nil, fmt.Errorf("%w: more than the %d-byte limit", errReportTooLarge, MaxReportBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching report %s: %w", d.Digest, err)
	}
	if !matches(b, d.Digest) {
		return nil, fmt.Errorf("fetching report %s: %w", d.Digest, ErrDigestMismatch)
	}
	s.cache.putBlob("reports", d.Digest, b)
	return b, nil
}

// errReportTooLarge: an attached report is larger than MaxReportBytes.
var errReportTooLarge = errors.New("the report is too large to read")

// NoReportLookup is the image document's vulnerability_report before any
// report was looked for: the registry gate judges a manifest alone.
func NoReportLookup() map[string]any {
	return map[string]any{"looked_up": false, "found": false, "source": "", "reference": "", "created_at": ""}
}
