package check_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
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

// trivyJSON is a Trivy JSON report of digest, created at created, with one
// HIGH vulnerability id.
func trivyJSON(digest, created, id string) []byte {
	b, _ := json.MarshalIndent(map[string]any{
		"SchemaVersion": 2,
		"CreatedAt":     created,
		"ArtifactName":  "registry.test/app",
		"ArtifactType":  "container_image",
		"Metadata":      map[string]any{"RepoDigests": []string{"registry.test/app@" + digest}},
		"Results": []any{map[string]any{
			"Target": "app (debian 12.5)", "Class": "os-pkgs", "Type": "debian",
			"Vulnerabilities": []any{map[string]any{
				"VulnerabilityID": id, "PkgName": "openssl", "InstalledVersion": "1.0",
				"FixedVersion": "3.0", "Severity": "HIGH",
			}},
		}},
	}, "", "  ")
	return b
}

// vulnStatement is an in-toto statement of cosign's vulnerability
// predicate about digest.
func vulnStatement(digest v1.Hash, id string) []byte {
	var report map[string]any
	_ = json.Unmarshal(trivyJSON("", "2026-05-31T10:00:00Z", id), &report)
	delete(report, "Metadata")
	b, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": image.VulnPredicateType,
		"subject":       []any{map[string]any{"name": "app", "digest": map[string]string{"sha256": digest.Hex}}},
		"predicate": map[string]any{
			"scanner":  map[string]any{"uri": "pkg:github/aquasecurity/trivy@v0.58.0", "version": "v0.58.0", "result": report},
			"metadata": map[string]any{"scanFinishedOn": "2026-05-31T10:00:00Z"},
		},
	})
	return b
}

// trivySARIF is Trivy's SARIF log of digest with one CRITICAL
// vulnerability id (the shape of pkg/report/sarif.go's output).
func trivySARIF(repoDigest, id string) []byte {
	b, _ := json.MarshalIndent(map[string]any{
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool": map[string]any{"driver": map[string]any{
				"fullName": "Trivy Vulnerability Scanner", "name": "Trivy", "version": "0.58.1",
				"rules": []any{map[string]any{
					"id": id, "name": "OsPackageVulnerability",
					"properties": map[string]any{"tags": []string{"vulnerability", "security", "CRITICAL"}, "security-severity": "9.8"},
				}},
			}},
			"results": []any{map[string]any{
				"ruleId": id, "ruleIndex": 0, "level": "error",
				"message":   map[string]any{"text": "Package: zlib\nInstalled Version: 1.2.13\nVulnerability " + id + "\nSeverity: CRITICAL\nFixed Version: 1.3.1\nLink: [" + id + "](https://avd.aquasec.com/nvd/" + id + ")"},
				"locations": []any{map[string]any{"physicalLocation": map[string]any{"artifactLocation": map[string]any{"uri": "registry.test/app"}}}},
			}},
			"properties": map[string]any{"imageName": "registry.test/app", "repoDigests": []string{repoDigest}},
		}},
	}, "", "  ")
	return b
}

// reportScenario pushes images with reports attached to the registry at
// host and checks them: the newest of two oras-style referrers wins, a
// referrer of another type is ignored, cosign's .att tag is read (its
// provenance layer skipped), a report of another digest is DWF403, and an
// image without any is DWF404 under require_report.
func reportScenario(t *testing.T, host string, tr http.RoundTripper, insecure []string) {
	t.Helper()
	base := fmt.Sprintf("%s/dwf-it/reports-%d", host, time.Now().UnixNano())
	passwd := imagetest.Layer(t, compression.ZStd, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"})
	cfg := v1.Config{User: "1001", Entrypoint: []string{"/usr/bin/tini", "--"}}

	two := base + "/two:1"
	idx := imagetest.Index(t, imagetest.Image(t, "linux/amd64", cfg, passwd), imagetest.Image(t, "linux/arm64", cfg, passwd))
	idxDigest := imagetest.WriteIndex(t, two, idx, tr)
	idxDesc := v1.Descriptor{MediaType: types.OCIImageIndex, Digest: idxDigest, Size: size(t, idx)}
	imagetest.Attach(t, two, idxDesc, imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: trivyJSON(idxDigest.String(), "2026-05-30T08:00:00Z", "CVE-2026-0001")}, tr)
	newer := imagetest.Attach(t, two, idxDesc, imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: trivyJSON(idxDigest.String(), "2026-05-31T08:00:00Z", "CVE-2026-0002")}, tr)
	imagetest.Attach(t, two, idxDesc, imagetest.Referrer{ArtifactType: "application/spdx+json", Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)}, tr)

	att := base + "/att:1"
	single := imagetest.Image(t, "linux/amd64", cfg, passwd)
	singleDigest := imagetest.Write(t, att, single, tr)
	provenance := []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{}}`)
	attDigest := imagetest.AttachAtt(t, att, singleDigest,
		[]string{"https://slsa.dev/provenance/v0.2", image.VulnPredicateType},
		[][]byte{imagetest.Envelope(provenance), imagetest.Envelope(vulnStatement(singleDigest, "CVE-2026-0003"))}, tr)

	other := base + "/other:1"
	otherImg := imagetest.Image(t, "linux/arm64", cfg, passwd)
	otherDigest := imagetest.Write(t, other, otherImg, tr)
	otherDesc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: otherDigest, Size: imgSize(t, otherImg)}
	imagetest.Attach(t, other, otherDesc, imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: trivyJSON("sha256:"+strings.Repeat("d", 64), "2026-05-31T08:00:00Z", "CVE-2026-0004")}, tr)

	bundle := base + "/bundle:1"
	bundleImg := imagetest.Image(t, "linux/amd64", v1.Config{User: "1001", Entrypoint: []string{"/usr/bin/tini", "--"}, Cmd: []string{"bundle"}}, passwd)
	bundleDigest := imagetest.Write(t, bundle, bundleImg, tr)
	var envelope map[string]any
	_ = json.Unmarshal(imagetest.Envelope(vulnStatement(bundleDigest, "CVE-2026-0005")), &envelope)
	sigstoreBundle, _ := json.Marshal(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{},
		"dsseEnvelope":         envelope,
	})
	bundleRef := imagetest.Attach(t, bundle, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: bundleDigest, Size: imgSize(t, bundleImg)},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeBundle, Data: sigstoreBundle}, tr)

	sarif := base + "/sarif:1"
	sarifImg := imagetest.Image(t, "linux/amd64", v1.Config{User: "1001", Entrypoint: []string{"/usr/bin/tini", "--"}, Cmd: []string{"sarif"}}, passwd)
	sarifDigest := imagetest.Write(t, sarif, sarifImg, tr)
	sarifRef := imagetest.Attach(t, sarif, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: sarifDigest, Size: imgSize(t, sarifImg)},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeSARIF, Data: trivySARIF("registry.test/app@"+sarifDigest.String(), "CVE-2026-0007"),
			Annotations: map[string]string{"org.opencontainers.image.created": "2026-05-31T09:00:00Z"}}, tr)

	// A report attached to one platform manifest of an index, not to the
	// index: it counts for that platform.
	plat := base + "/plat:1"
	amd, arm := imagetest.Image(t, "linux/amd64", cfg, passwd), imagetest.Image(t, "linux/arm64", v1.Config{User: "1001", Entrypoint: []string{"/usr/bin/tini", "--"}, Cmd: []string{"arm"}}, passwd)
	imagetest.WriteIndex(t, plat, imagetest.Index(t, amd, arm), tr)
	armDigest, err := arm.Digest()
	if err != nil {
		t.Fatal(err)
	}
	platRef := imagetest.Attach(t, plat, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: armDigest, Size: imgSize(t, arm)},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: trivyJSON(armDigest.String(), "2026-05-31T08:00:00Z", "CVE-2026-0008")}, tr)

	none := base + "/none:1"
	imagetest.Write(t, none, imagetest.Image(t, "linux/amd64", cfg, passwd), tr)

	dir := repo(t, map[string]string{".dwf-policy.yaml": "vulnerabilities:\n  require_report: true\n"})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	c := check.New(set, check.Options{Now: now, Image: image.Options{Transport: tr, InsecureRegistries: insecure, Retries: -1}})
	res, err := c.Images(context.Background(), []string{two, att, other, bundle, sarif, plat, none}, check.ImagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil {
		t.Fatalf("%v %v", res.Err, res.Problems)
	}
	repoOf := func(ref string) string { return ref[:strings.LastIndex(ref, ":")] }
	want := map[string]string{
		"DWF401 " + repoOf(two) + "@" + newer.String():        "CVE-2026-0002",
		"DWF401 " + repoOf(att) + "@" + attDigest.String():    "CVE-2026-0003",
		"DWF401 " + repoOf(other) + "@sha256:":                "CVE-2026-0004",
		"DWF403 " + repoOf(other) + "@sha256:":                "is for sha256:dddd",
		"DWF401 " + repoOf(bundle) + "@" + bundleRef.String(): "CVE-2026-0005",
		"DWF401 " + repoOf(sarif) + "@" + sarifRef.String():   "CVE-2026-0007 (CRITICAL) in zlib 1.2.13 (registry.test/app): upgrade zlib to 1.3.1",
		"DWF401 " + repoOf(plat) + "@" + platRef.String():     "CVE-2026-0008",
		"DWF404 " + none: "No Trivy report for " + none,
	}
	var got []finding.Finding
	for _, f := range res.Findings {
		if strings.HasPrefix(f.RuleID, "DWF40") {
			got = append(got, f)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d DWF40x findings, want %d: %v", len(got), len(want), got)
	}
	for key, msg := range want {
		rule, path, _ := strings.Cut(key, " ")
		found := false
		for _, f := range got {
			if f.RuleID == rule && strings.HasPrefix(f.Path, path) && strings.Contains(f.Message, msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s finding at %s saying %q in %v", rule, path, msg, got)
		}
	}
	for _, f := range got {
		if f.RuleID == "DWF401" && strings.Contains(f.Message, "CVE-2026-0001") {
			t.Errorf("the older report was judged: %v", f)
		}
		if f.RuleID == "DWF401" && f.Location.Line == 0 {
			t.Errorf("a finding in a report has no line: %v", f)
		}
	}
	notes := strings.Join(res.Notes, "\n")
	for _, n := range []string{
		two + ": judged with the Trivy report " + repoOf(two) + "@" + newer.String() + " (an OCI referrer, created 2026-05-31T08:00:00Z), the newest of 2 attached",
		att + ": judged with the Trivy report " + repoOf(att) + "@" + attDigest.String() + " (cosign's .att tag, created 2026-05-31T10:00:00Z)",
		sarif + ": judged with the Trivy report " + repoOf(sarif) + "@" + sarifRef.String() + " (an OCI referrer, created 2026-05-31T09:00:00Z)",
		plat + ": judged with the Trivy report " + repoOf(plat) + "@" + platRef.String() + " (an OCI referrer, created 2026-05-31T08:00:00Z) for linux/arm64",
	} {
		if !strings.Contains(notes, n) {
			t.Errorf("notes lack %q:\n%s", n, notes)
		}
	}
}

func size(t *testing.T, idx interface{ RawManifest() ([]byte, error) }) int64 {
	t.Helper()
	b, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b))
}

func imgSize(t *testing.T, img v1.Image) int64 { return size(t, img) }

// TestAttachedReports: the in-process registry without the referrers API
// (go-containerregistry's writer maintains the fallback tag).
func TestAttachedReports(t *testing.T) {
	reg := imagetest.NewRegistry(t, nil)
	reportScenario(t, reg.Host, imagetest.Transport(), nil)
}

// TestIntegrationAttachedReports: the same against Debian's docker-registry
// (distribution 2.x: no referrers API, so the tag fallback).
func TestIntegrationAttachedReports(t *testing.T) {
	addr := imagetest.RealRegistry(t, "./engine/check")
	reportScenario(t, addr, http.DefaultTransport, []string{addr})
}

// TestAttachedReportCached: a report's manifest and blob are read once;
// a second check with the same cache asks only for the lists (the
// referrers, the fallback tag, the .att tag), which may change.
func TestAttachedReportCached(t *testing.T) {
	reg := imagetest.NewRegistry(t, nil)
	tr := imagetest.Transport()
	ref := reg.Ref("team/cached:1")
	img := imagetest.Image(t, "linux/amd64", v1.Config{User: "1001"}, imagetest.Layer(t, compression.ZStd, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"}))
	digest := reg.Push(t, ref, img)
	report := trivyJSON(digest.String(), "2026-05-31T08:00:00Z", "CVE-2026-0006")
	art := imagetest.Attach(t, ref, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: digest, Size: imgSize(t, img)},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: report}, tr)
	layer, _, _ := v1.SHA256(strings.NewReader(string(report)))

	dir := repo(t, map[string]string{})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Image: image.Options{Transport: tr, Retries: -1, CacheDir: t.TempDir()}})
	blob := "GET /v2/team/cached/blobs/" + layer.String()
	manifest := "GET /v2/team/cached/manifests/" + art.String()
	for run := range 2 {
		res, err := c.Images(context.Background(), []string{ref}, check.ImagesOptions{})
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		if !slices.ContainsFunc(res.Findings, func(f finding.Finding) bool { return strings.Contains(f.Message, "CVE-2026-0006") }) {
			t.Fatalf("run %d: the attached report was not judged: %v", run, res.Findings)
		}
		if reg.Count(blob) != 1 || reg.Count(manifest) != 1 {
			t.Errorf("run %d: report blob fetched %d times, its manifest %d times; want once each", run, reg.Count(blob), reg.Count(manifest))
		}
	}
}

// TestAttachedReportTooLarge: a report larger than image.MaxReportBytes
// (100 MiB by its descriptor) is not fetched; it is no report (a note
// says why, DWF404 under require_report) and the check goes on.
func TestAttachedReportTooLarge(t *testing.T) {
	reg := imagetest.NewRegistry(t, nil)
	tr := imagetest.Transport()
	ref := reg.Ref("team/huge:1")
	img := imagetest.Image(t, "linux/amd64", v1.Config{User: "1001"}, imagetest.Layer(t, compression.ZStd, imagetest.File{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"}))
	digest := reg.Push(t, ref, img)
	data := trivyJSON(digest.String(), "2026-05-31T08:00:00Z", "CVE-2026-0009")
	art := imagetest.Attach(t, ref, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: digest, Size: imgSize(t, img)},
		imagetest.Referrer{ArtifactType: image.ArtifactTypeTrivyJSON, Data: data, LayerSize: 100 << 20}, tr)
	layer, _, _ := v1.SHA256(strings.NewReader(string(data)))

	dir := repo(t, map[string]string{".dwf-policy.yaml": "vulnerabilities:\n  require_report: true\n"})
	set, err := policyset.Open(context.Background(), policyset.Options{WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c := check.New(set, check.Options{Image: image.Options{Transport: tr, Retries: -1}})
	res, err := c.Images(context.Background(), []string{ref}, check.ImagesOptions{})
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err, res.Problems)
	}
	if !slices.ContainsFunc(res.Findings, func(f finding.Finding) bool { return f.RuleID == "DWF404" }) {
		t.Errorf("no DWF404 for an image whose only report is too large: %v", res.Findings)
	}
	want := "no usable Trivy report among those attached: " + strings.TrimSuffix(ref, ":1") + "@" + art.String() + " (the report is too large to read: 104857600 bytes, more than the 67108864-byte limit)"
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, want) }) {
		t.Errorf("notes %q lack %q", res.Notes, want)
	}
	if n := reg.Count("GET /v2/team/huge/blobs/" + layer.String()); n != 0 {
		t.Errorf("the report blob was fetched %d times", n)
	}
}
