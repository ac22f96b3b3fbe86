package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// uidPlaceholder is the uid of every review written; review replaces its
// last 12 hex digits with the request's number, so that no two requests
// of a run carry the same uid.
const uidPlaceholder = "00000000-0000-4000-8000-000000000000"

func setupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	registry := fs.String("registry", "", "push the images to the plain-HTTP registry at `HOST:PORT` (required)")
	dir := fs.String("dir", "", "write tls.crt, tls.key, warm.json, cold/NNN.json and pull-ref into `DIR` (required)")
	cold := fs.Int("cold", 100, "write this many cold reviews, each naming 3 images no other review names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *registry == "" || *dir == "" || fs.NArg() > 0 {
		return errors.New("want -registry HOST:PORT -dir DIR and no arguments")
	}
	if err := os.MkdirAll(filepath.Join(*dir, "cold"), 0o755); err != nil {
		return err
	}
	if err := writeCert(*dir); err != nil {
		return fmt.Errorf("writing the TLS certificate: %w", err)
	}
	base, err := baseLayer()
	if err != nil {
		return err
	}
	start := time.Now()
	sets := append([]string{"warm"}, make([]string, *cold)...)
	for i := 1; i < len(sets); i++ {
		sets[i] = fmt.Sprintf("s%03d", i-1)
	}
	refs := make([][3]string, len(sets))
	digests := make([]string, len(sets))
	errs := make([]error, len(sets))
	// The warm set goes first, alone: it uploads the blobs every set
	// shares, which docker-registry refuses to take twice at once.
	if refs[0], digests[0], errs[0] = pushSet(ctx, *registry, sets[0], base); errs[0] != nil {
		return errs[0]
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				refs[i], digests[i], errs[i] = pushSet(ctx, *registry, sets[i], base)
			}
		})
	}
	for i := 1; i < len(sets); i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, set := range sets {
		body, err := review(set, refs[i])
		if err != nil {
			return err
		}
		path := filepath.Join(*dir, "cold", set+".json")
		if set == "warm" {
			path = filepath.Join(*dir, "warm.json")
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
	}
	// The app image of the warm set, an index, is what bench-gate pulls.
	if err := os.WriteFile(filepath.Join(*dir, "pull-ref"), []byte("bench/app@"+digests[0]+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed %d images (%d pods of 3) to %s in %s\n", 3*len(sets), len(sets), *registry, time.Since(start).Round(time.Millisecond))
	return nil
}

// pushSet pushes the 3 images of one pod, tagged set: bench/app (an index
// of linux/amd64 and linux/arm64 with a BuildKit attestation, USER
// dwfuser, so the judge reads /etc/passwd), bench/sidecar (one
// linux/amd64 manifest, USER 1001) and bench/logger (an index of two
// platforms, USER 1001). Each set's configs differ (a label), so each set
// is new to a cold cache. It returns the 3 tagged references and the
// app index's digest.
func pushSet(ctx context.Context, registry, set string, base v1.Layer) ([3]string, string, error) {
	var refs [3]string
	img := func(platform, user string) (v1.Image, error) {
		return benchImage(platform, user, set, base)
	}
	app := registry + "/bench/app:" + set
	amd, err := img("linux/amd64", "dwfuser")
	if err != nil {
		return refs, "", err
	}
	arm, err := img("linux/arm64", "dwfuser")
	if err != nil {
		return refs, "", err
	}
	idx, err := index(amd, arm)
	if err != nil {
		return refs, "", err
	}
	if idx, err = withAttestation(idx, amd); err != nil {
		return refs, "", err
	}
	if err := write(ctx, app, idx); err != nil {
		return refs, "", err
	}
	d, err := idx.Digest()
	if err != nil {
		return refs, "", err
	}

	sidecar := registry + "/bench/sidecar:" + set
	sc, err := img("linux/amd64", "1001")
	if err != nil {
		return refs, "", err
	}
	if err := write(ctx, sidecar, sc); err != nil {
		return refs, "", err
	}

	logger := registry + "/bench/logger:" + set
	la, err := img("linux/amd64", "1001")
	if err != nil {
		return refs, "", err
	}
	lr, err := img("linux/arm64", "1001")
	if err != nil {
		return refs, "", err
	}
	lidx, err := index(la, lr)
	if err != nil {
		return refs, "", err
	}
	if err := write(ctx, logger, lidx); err != nil {
		return refs, "", err
	}
	return [3]string{app, sidecar, logger}, d.String(), nil
}

func write(ctx context.Context, ref string, what any) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return err
	}
	switch w := what.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, w, remote.WithContext(ctx))
	case v1.Image:
		err = remote.Write(r, w, remote.WithContext(ctx))
	}
	if err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// baseLayer is the root filesystem every bench image shares: /etc/passwd
// and /etc/group naming dwfuser (UID 1001) and /usr/bin/tini.
func baseLayer() (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"etc/group", "root:x:0:\ndwfuser:x:1001:\nnogroup:x:65534:\n"},
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\ndwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"},
		{"usr/bin/tini", "\x7fELF tini"},
	} {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}

// benchImage is a compliant OCI image for platform: USER user, ENTRYPOINT
// tini, CMD the app, labelled with its set.
func benchImage(platform, user, set string, base v1.Layer) (v1.Image, error) {
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, base); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config = v1.Config{
		User:       user,
		Entrypoint: []string{"/usr/bin/tini", "--"},
		Cmd:        []string{"/app/server"},
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		Labels:     map[string]string{"dev.dwf-policy.bench.set": set},
	}
	return mutate.ConfigFile(img, cf)
}

func index(imgs ...v1.Image) (v1.ImageIndex, error) {
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}},
		})
	}
	return idx, nil
}

// withAttestation adds a BuildKit-style attestation manifest of of to idx
// (platform unknown/unknown), which the judge must skip.
func withAttestation(idx v1.ImageIndex, of v1.Image) (v1.ImageIndex, error) {
	d, err := of.Digest()
	if err != nil {
		return nil, err
	}
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[{"name":"app","digest":{"sha256":"` + d.Hex + `"}}],"predicate":{}}`)
	att, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON),
		static.NewLayer(stmt, "application/vnd.in-toto+json"))
	if err != nil {
		return nil, err
	}
	return mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": d.String()},
	}}), nil
}

// review is the AdmissionReview of a CREATE of Deployment web-SET in
// namespace bench, whose pod runs the 3 images as a hardened pod would.
func review(set string, refs [3]string) ([]byte, error) {
	var containers []any
	for i, n := range []string{"app", "sidecar", "logger"} {
		containers = append(containers, map[string]any{
			"name":  n,
			"image": refs[i],
			"ports": []any{map[string]any{"containerPort": 8080 + i, "protocol": "TCP"}},
			"resources": map[string]any{
				"requests": map[string]any{"cpu": "100m", "memory": "64Mi"},
				"limits":   map[string]any{"memory": "128Mi"},
			},
			"securityContext": map[string]any{
				"runAsNonRoot":             true,
				"allowPrivilegeEscalation": false,
				"readOnlyRootFilesystem":   true,
				"capabilities":             map[string]any{"drop": []any{"ALL"}},
			},
		})
	}
	name := "web-" + set
	labels := map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bench"}
	obj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": "bench", "labels": labels},
		"spec": map[string]any{
			"replicas": 3,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"automountServiceAccountToken": false,
					"securityContext":              map[string]any{"seccompProfile": map[string]any{"type": "RuntimeDefault"}},
					"containers":                   containers,
				},
			},
		},
	}
	return json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid":       uidPlaceholder,
			"kind":      map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"},
			"resource":  map[string]any{"group": "apps", "version": "v1", "resource": "deployments"},
			"name":      name,
			"namespace": "bench",
			"operation": "CREATE",
			"userInfo":  map[string]any{"username": "bench"},
			"object":    obj,
			"oldObject": nil,
			"dryRun":    false,
			"options":   map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
		},
	})
}

// writeCert writes a self-signed certificate for 127.0.0.1 and localhost
// (tls.crt, also the client's CA) and its key (tls.key), valid for a day.
func writeCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "dwf-policy bench"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}
