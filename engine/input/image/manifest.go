package image

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/devflow/dwf-policy/engine/document"
)

// ErrNotRegistry: LoadManifest was given a local reference (oci-layout:,
// tarball:); it reads the rest of the image from a registry.
var ErrNotRegistry = errors.New("not a registry reference")

// LoadManifest builds the document of an image whose manifest (or index)
// the caller holds but the registry may not have yet: a registry gate
// judging a manifest PUT before forwarding it. manifest is the root, taken
// as is (the caller computed its digest); every other part (child
// manifests of an index, configs, layers) is fetched from the registry ref
// names, verified against its digest as Load does. ref names the
// repository, and the tag or digest the manifest is pushed under. Errors
// are those of Load.
func LoadManifest(ctx context.Context, ref string, manifest []byte, opts Options) ([]*document.Document, error) {
	o := opts.withDefaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	ctx = context.WithValue(ctx, parentKey{}, parent)
	defer cancel()

	if len(manifest) > maxManifestBytes {
		return nil, &document.ParseError{Path: ref, Message: fmt.Sprintf("manifest larger than %d bytes", maxManifestBytes)}
	}
	src, err := openSource(ctx, ref, &o)
	if err != nil {
		return nil, o.wrap(ctx, ref, err)
	}
	defer src.close()
	rs, ok := src.(*registrySource)
	if !ok {
		return nil, fmt.Errorf("loading image %s: %w", ref, ErrNotRegistry)
	}
	held := &heldSource{registrySource: rs, desc: v1.Descriptor{
		Digest:    sha256Hash(manifest),
		Size:      int64(len(manifest)),
		MediaType: sniffMediaType(manifest),
	}, raw: manifest}
	in, err := build(ctx, ref, held, &o)
	if err != nil {
		return nil, o.wrap(ctx, ref, err)
	}
	return []*document.Document{{Kind: document.KindImage, Path: ref, Input: in}}, nil
}

// heldSource is a registry source whose root manifest the caller holds.
type heldSource struct {
	*registrySource
	desc v1.Descriptor
	raw  []byte
}

func (s *heldSource) root(context.Context) (v1.Descriptor, []byte, error) {
	return s.desc, s.raw, nil
}

// FetchManifest returns the manifest or index a registry reference names,
// as stored, with its descriptor (digest, size, media type): what a
// caller needs to tell an image from an artifact before judging it. The
// request goes through the same guarded, retried and timed transport as
// Load, and a manifest cached by digest answers without one.
func FetchManifest(ctx context.Context, ref string, opts Options) (v1.Descriptor, []byte, error) {
	o := opts.withDefaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	ctx = context.WithValue(ctx, parentKey{}, parent)
	defer cancel()
	src, err := openSource(ctx, ref, &o)
	if err != nil {
		return v1.Descriptor{}, nil, o.wrap(ctx, ref, err)
	}
	defer src.close()
	rs, ok := src.(*registrySource)
	if !ok {
		return v1.Descriptor{}, nil, fmt.Errorf("fetching manifest %s: %w", ref, ErrNotRegistry)
	}
	desc, raw, err := rs.root(ctx)
	if err != nil {
		return v1.Descriptor{}, nil, o.wrap(ctx, ref, err)
	}
	if len(raw) > maxManifestBytes || !matches(raw, desc.Digest) {
		return v1.Descriptor{}, nil, o.wrap(ctx, ref, fmt.Errorf("fetching manifest: %w", ErrDigestMismatch))
	}
	return desc, raw, nil
}
