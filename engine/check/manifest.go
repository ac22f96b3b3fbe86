package check

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/image"
)

// ManifestOptions tune Manifest. The zero value is the default.
type ManifestOptions struct {
	// Keychain replaces the checker's credentials for this call: a registry
	// gate fetches with the credentials of the client it judges for.
	Keychain authn.Keychain
}

// Manifest checks an image whose manifest (or index) the caller holds but
// the registry may not have yet, as a registry gate holds a manifest PUT
// before forwarding it: the rest of the image (child manifests, configs,
// the layers that hold /etc/passwd) comes from the registry ref names, and
// every platform is checked. ref is a registry reference naming the
// repository and the tag or digest pushed. An image that cannot be loaded
// is a Problem and sets Err, as for Images.
func (c *Checker) Manifest(ctx context.Context, ref string, manifest []byte, opts ManifestOptions) *Result {
	imgOpts := c.image
	imgOpts.Platforms = nil
	if opts.Keychain != nil {
		imgOpts.Keychain = opts.Keychain
	}
	r := c.image1(ctx, ref, func(ctx context.Context) ([]*document.Document, error) {
		return image.LoadManifest(ctx, ref, manifest, imgOpts)
	}, nil, nil)
	res := &Result{Inputs: "image", Sources: map[string][]byte{}, Findings: r.findings}
	if len(r.docs) == 1 {
		res.Image = loadedImage(ref, r.docs[0])
	}
	if r.loaded {
		res.Checked = 1
	}
	if r.err != nil {
		res.Problems = append(res.Problems, Problem{Err: r.err, Hint: image.Hint(r.err, imgOpts.Timeout)})
		res.Err = fmt.Errorf("image %s could not be checked: %w", ref, r.err)
	}
	res.Findings = c.finish(res.Findings, res.Sources, document.KindImage, nil)
	return res
}
