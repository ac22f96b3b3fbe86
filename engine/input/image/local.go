package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/repofile"
)

// Prefixes of references to local images.
const (
	layoutPrefix  = "oci-layout:"
	tarballPrefix = "tarball:"
)

// maxTarEntries bounds the entries indexed in a tarball; an image archive
// holds a few files per layer.
const maxTarEntries = 100_000

// openSource picks the source for a reference.
func openSource(ctx context.Context, ref string, o *Options) (source, error) {
	switch {
	case strings.HasPrefix(ref, layoutPrefix):
		dir, pin, err := splitPin(strings.TrimPrefix(ref, layoutPrefix))
		if err != nil {
			return nil, err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout: %w", err)
		}
		return &layoutSource{ref: ref, store: dirStore{root}, pin: pin, transport: "oci-layout"}, nil
	case strings.HasPrefix(ref, tarballPrefix):
		file, pin, err := splitPin(strings.TrimPrefix(ref, tarballPrefix))
		if err != nil {
			return nil, err
		}
		ts, err := openTarStore(ctx, ref, file)
		if err != nil {
			return nil, err
		}
		switch {
		case ts.has("index.json"):
			return &layoutSource{ref: ref, store: ts, pin: pin, transport: "tarball"}, nil
		case ts.has("manifest.json"):
			return &dockerSaveSource{ref: ref, store: ts}, nil
		}
		ts.close()
		return nil, &document.ParseError{Path: ref, Message: "tarball is neither an OCI image layout (no index.json) nor a docker save archive (no manifest.json)"}
	}
	return newRegistrySource(ref, o)
}

// maxListedDigests bounds the digests named when a pinned digest is not in
// a layout.
const maxListedDigests = 8

// LocalPrefix returns the transport prefix a reference written without one
// needs when it names a local image rather than a registry repository:
// "oci-layout:" for an existing directory that holds an OCI layout
// (index.json or oci-layout), "tarball:" for an existing regular file named
// *.tar, and "" for anything else. path is the reference resolved against
// the working directory. Front doors that take references from the command
// line use it to suggest the prefix instead of asking a registry for
// "./out" or "out"; it reads the local file system, so a front door that
// takes references from the network must not.
func LocalPrefix(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	switch {
	case fi.IsDir():
		for _, marker := range []string{"index.json", "oci-layout"} {
			if _, err := os.Stat(filepath.Join(path, marker)); err == nil {
				return layoutPrefix
			}
		}
	case fi.Mode().IsRegular() && strings.HasSuffix(strings.ToLower(path), ".tar"):
		return tarballPrefix
	}
	return ""
}

// splitPin splits "PATH@sha256:HEX" into the path and the digest.
func splitPin(s string) (string, v1.Hash, error) {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		if h, err := v1.NewHash(s[i+1:]); err == nil {
			return s[:i], h, nil
		}
	}
	if s == "" {
		return "", v1.Hash{}, errors.New("missing path after the prefix")
	}
	return s, v1.Hash{}, nil
}

// blobStore opens files of an OCI image layout by their path in it.
type blobStore interface {
	open(name string) (io.ReadCloser, error)
	close()
}

// dirStore is a layout directory; os.Root keeps reads inside it.
type dirStore struct{ root *os.Root }

func (s dirStore) open(name string) (io.ReadCloser, error) { return s.root.Open(name) }
func (s dirStore) close()                                  { _ = s.root.Close() }

// tarStore is a tar file indexed once, so that each member is read in place
// without scanning the archive again.
type tarStore struct {
	f       *os.File
	entries map[string]tarEntry
}

type tarEntry struct {
	offset, size int64
	typeflag     byte
	link         string
}

func openTarStore(ctx context.Context, ref, file string) (*tarStore, error) {
	f, err := repofile.OpenRegular(file) // not a FIFO or device: tar needs to seek
	if err != nil {
		return nil, fmt.Errorf("opening tarball %s: %w", file, err)
	}
	ts := &tarStore{f: f, entries: map[string]tarEntry{}}
	// With an *os.File underneath, tar.Reader seeks over file contents and
	// reads headers exactly, so the offset after Next is the data's start.
	tr := tar.NewReader(f)
	for {
		if err := ctx.Err(); err != nil {
			ts.close()
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			ts.close()
			return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("reading tarball: %v (a compressed archive must be decompressed first)", err)}
		}
		if len(ts.entries) >= maxTarEntries {
			ts.close()
			return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("tarball has more than %d entries", maxTarEntries)}
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			ts.close()
			return nil, fmt.Errorf("reading tarball: %w", err)
		}
		ts.entries[cleanPath(hdr.Name)] = tarEntry{offset: off, size: hdr.Size, typeflag: hdr.Typeflag, link: hdr.Linkname}
	}
	return ts, nil
}

func (s *tarStore) has(name string) bool {
	_, ok := s.entries[name]
	return ok
}

func (s *tarStore) open(name string) (io.ReadCloser, error) {
	e, err := s.stat(name)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.NewSectionReader(s.f, e.offset, e.size)), nil
}

// stat finds the regular file name refers to, following links.
func (s *tarStore) stat(name string) (tarEntry, error) {
	p := cleanPath(name)
	for range maxLinkHops {
		e, ok := s.entries[p]
		if !ok {
			return tarEntry{}, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		switch e.typeflag {
		case tar.TypeReg:
			return e, nil
		case tar.TypeSymlink:
			p = resolveLink(parentDir(p), e.link)
		case tar.TypeLink:
			p = cleanPath(e.link)
		default:
			return tarEntry{}, fmt.Errorf("%s: not a regular file", name)
		}
	}
	return tarEntry{}, fmt.Errorf("%s: too many levels of links", name)
}

func (s *tarStore) close() { _ = s.f.Close() }

// layoutSource reads an OCI image layout from a directory or a tar.
type layoutSource struct {
	ref       string
	store     blobStore
	pin       v1.Hash
	transport string
}

func (s *layoutSource) meta() sourceMeta {
	m := sourceMeta{Transport: s.transport}
	if s.pin.Hex != "" {
		m.Digest = s.pin.String()
	}
	return m
}

func (s *layoutSource) close() { s.store.close() }

func (s *layoutSource) root(context.Context) (v1.Descriptor, []byte, error) {
	raw, err := s.read("index.json", maxManifestBytes)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading OCI layout: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return v1.Descriptor{}, nil, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("index.json is not a valid OCI index: %v", err)}
	}
	var d v1.Descriptor
	switch {
	case s.pin.Hex != "":
		found := false
		for _, m := range idx.Manifests {
			if m.Digest == s.pin {
				d, found = m, true
				break
			}
		}
		if !found {
			// Not a top-level entry: a manifest inside an index, by digest.
			name, _ := blobPath(s.pin)
			b, err := s.read(name, maxManifestBytes)
			if err != nil {
				held := make([]string, 0, len(idx.Manifests))
				for _, m := range idx.Manifests {
					held = append(held, m.Digest.String())
				}
				if len(held) > maxListedDigests {
					held = append(held[:maxListedDigests], fmt.Sprintf("and %d more", len(idx.Manifests)-maxListedDigests))
				}
				return v1.Descriptor{}, nil, fmt.Errorf("%w: no manifest %s in the layout (its index.json lists %s)", ErrNotFound, s.pin, strings.Join(held, ", "))
			}
			if !matches(b, s.pin) {
				return v1.Descriptor{}, nil, fmt.Errorf("reading manifest %s: %w", s.pin, ErrDigestMismatch)
			}
			return v1.Descriptor{Digest: s.pin, Size: int64(len(b)), MediaType: sniffMediaType(b)}, b, nil
		}
	case len(idx.Manifests) == 1:
		d = idx.Manifests[0]
	case len(idx.Manifests) == 0:
		return v1.Descriptor{}, nil, &document.ParseError{Path: s.ref, Message: "the layout's index.json lists no manifests"}
	default:
		// Several top-level entries: index.json is itself the index.
		sum := sha256.Sum256(raw)
		return v1.Descriptor{
			MediaType: types.OCIImageIndex,
			Digest:    v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
			Size:      int64(len(raw)),
		}, raw, nil
	}
	b, err := s.manifest(context.Background(), d)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	return d, b, nil
}

func (s *layoutSource) manifest(_ context.Context, d v1.Descriptor) ([]byte, error) {
	return s.blob(d, maxManifestBytes, "manifest")
}

func (s *layoutSource) config(_ context.Context, d v1.Descriptor) ([]byte, error) {
	return s.blob(d, maxConfigBytes, "config")
}

func (s *layoutSource) layer(_ context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	name, ok := blobPath(d.Digest)
	if !ok {
		return nil, fmt.Errorf("layer digest %q is not valid", d.Digest)
	}
	return s.store.open(name)
}

func (s *layoutSource) blob(d v1.Descriptor, limit int64, what string) ([]byte, error) {
	name, ok := blobPath(d.Digest)
	if !ok {
		return nil, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("%s digest %q is not valid", what, d.Digest)}
	}
	b, err := s.read(name, limit)
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", what, d.Digest, err)
	}
	if !matches(b, d.Digest) {
		return nil, fmt.Errorf("reading %s %s: %w", what, d.Digest, ErrDigestMismatch)
	}
	return b, nil
}

func (s *layoutSource) read(name string, limit int64) ([]byte, error) {
	rc, err := s.store.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readCapped(rc, limit)
}

// blobPath is where a layout keeps the blob with digest h.
func blobPath(h v1.Hash) (string, bool) {
	if !validHash(h) {
		return "", false
	}
	return "blobs/" + h.Algorithm + "/" + h.Hex, true
}

// openerLayer is a partial.CompressedLayer over a function that opens the
// blob; openVerifiedLayer uses it to decompress a layer according to its
// first bytes (gzip, zstd or none), whatever the media type claims.
type openerLayer struct {
	open func() (io.ReadCloser, error)
	d    v1.Descriptor
}

func (l openerLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l openerLayer) Compressed() (io.ReadCloser, error)  { return l.open() }
func (l openerLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l openerLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }

// dockerSaveSource reads a `docker save` archive without an OCI layout:
// manifest.json lists one config and its layer files, and there is no image
// manifest. A manifest is synthesised so that the rest of the pipeline is
// the same: its layers' media types come from the layer bytes, and the
// image's digest is its ID (the config digest), the only digest such an
// archive has.
type dockerSaveSource struct {
	ref    string
	store  *tarStore
	cfg    []byte
	layers map[v1.Hash]string // digest -> file in the archive
}

func (s *dockerSaveSource) meta() sourceMeta { return sourceMeta{Transport: "tarball"} }
func (s *dockerSaveSource) close()           { s.store.close() }

func (s *dockerSaveSource) root(context.Context) (v1.Descriptor, []byte, error) {
	rc, err := s.store.open("manifest.json")
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading tarball: %w", err)
	}
	raw, err := readCapped(rc, maxManifestBytes)
	_ = rc.Close()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading manifest.json: %w", err)
	}
	var saved []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(raw, &saved); err != nil {
		return v1.Descriptor{}, nil, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("manifest.json is not valid: %v", err)}
	}
	if len(saved) != 1 {
		return v1.Descriptor{}, nil, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("the archive holds %d images; save one image per tarball", len(saved))}
	}
	img := saved[0]
	rc, err = s.store.open(img.Config)
	if err != nil {
		return v1.Descriptor{}, nil, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("config %s: %v", img.Config, err)}
	}
	s.cfg, err = readCapped(rc, maxConfigBytes)
	_ = rc.Close()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading config %s: %w", img.Config, err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(s.cfg))
	if err != nil {
		return v1.Descriptor{}, nil, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("config %s is not a valid image config: %v", img.Config, err)}
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(s.cfg)), Digest: sha256Hash(s.cfg)},
	}
	s.layers = map[v1.Hash]string{}
	for i, file := range img.Layers {
		d, err := s.describeLayer(file, i, cf.RootFS.DiffIDs)
		if err != nil {
			return v1.Descriptor{}, nil, err
		}
		s.layers[d.Digest] = file
		m.Layers = append(m.Layers, d)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return v1.Descriptor{MediaType: m.MediaType, Digest: m.Config.Digest, Size: int64(len(b))}, b, nil
}

// describeLayer derives a layer's descriptor from its bytes. An
// uncompressed layer's digest is its diff ID from the config; a compressed
// one is hashed.
func (s *dockerSaveSource) describeLayer(file string, i int, diffIDs []v1.Hash) (v1.Descriptor, error) {
	e, err := s.store.stat(file)
	if err != nil {
		return v1.Descriptor{}, &document.ParseError{Path: s.ref, Message: fmt.Sprintf("layer %s: %v", file, err)}
	}
	br := bufio.NewReader(io.NewSectionReader(s.store.f, e.offset, e.size))
	magic, _ := br.Peek(4)
	d := v1.Descriptor{Size: e.size}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		d.MediaType = types.DockerLayer
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d.MediaType = types.OCILayerZStd
	default:
		d.MediaType = types.DockerUncompressedLayer
		if i < len(diffIDs) {
			d.Digest = diffIDs[i]
		}
	}
	if d.Digest.Hex == "" {
		h := sha256.New()
		if _, err := io.Copy(h, br); err != nil {
			return v1.Descriptor{}, fmt.Errorf("reading layer %s: %w", file, err)
		}
		d.Digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	}
	return d, nil
}

func (s *dockerSaveSource) manifest(context.Context, v1.Descriptor) ([]byte, error) {
	return nil, errors.New("a docker save archive holds no index")
}

func (s *dockerSaveSource) config(context.Context, v1.Descriptor) ([]byte, error) {
	return s.cfg, nil
}

func (s *dockerSaveSource) layer(_ context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	file, ok := s.layers[d.Digest]
	if !ok {
		return nil, fmt.Errorf("layer %s: %w", d.Digest, fs.ErrNotExist)
	}
	return s.store.open(file)
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}
