package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/dockerfile"
	"github.com/devflow/dwf-policy/engine/input/image"
)

// baseResolver fetches the configs of Dockerfiles' base images for
// FilesOptions.ResolveBaseImages, each distinct reference and platform once
// per check, a few at a time, and merges what they set into the documents.
// A nil *baseResolver resolves nothing.
type baseResolver struct {
	opts    image.Options
	fetches *fetches[baseKey, dockerfile.BaseImage]
	mu      sync.Mutex
	// skipped lists Dockerfiles whose base reference uses a variable with
	// no value, by path.
	skipped map[string]string
}

type baseKey struct{ ref, platform string }

func newBaseResolver(opts image.Options) *baseResolver {
	opts.SkipLayers = true // the config is all a Dockerfile inherits
	return &baseResolver{
		opts:    opts,
		fetches: newFetches[baseKey, dockerfile.BaseImage](),
		skipped: map[string]string{},
	}
}

// resolve merges the base image's user, entrypoint and cmd into doc when
// its final stage lacks a USER or an ENTRYPOINT. On failure doc is left as
// it is: the Dockerfile is checked on its own, and problems says why.
func (r *baseResolver) resolve(ctx context.Context, doc *document.Document) {
	if r == nil {
		return
	}
	ref, ok := dockerfile.BaseImageRef(doc)
	if !ok {
		return
	}
	if !ref.Resolved {
		r.mu.Lock()
		r.skipped[doc.Path] = fmt.Sprintf("%s:%d: FROM %s uses a build argument with no default", doc.Path, ref.Location.Line, ref.Image)
		r.mu.Unlock()
		return
	}
	key := baseKey{ref: ref.Image, platform: ref.Platform}
	base, err := r.fetches.get(key, doc.Path, func() (dockerfile.BaseImage, error) { return r.fetch(ctx, key) })
	if err == nil {
		dockerfile.MergeBaseImage(doc, base)
	}
}

// fetch reads one base image's config for the platform of its FROM, else
// linux/amd64. An image that is not an index and has another platform is
// used as it is, as docker build would (with a warning).
func (r *baseResolver) fetch(ctx context.Context, key baseKey) (dockerfile.BaseImage, error) {
	o := r.opts
	platform := key.platform
	if platform == "" {
		platform = "linux/amd64"
	}
	o.Platforms = []string{platform}
	docs, err := image.Load(ctx, key.ref, o)
	if errors.Is(err, image.ErrPlatformNotFound) && key.platform == "" {
		o.Platforms = nil
		docs, err = image.Load(ctx, key.ref, o)
		if err == nil {
			if _, n := image.InheritedFrom(docs[0]); n != 1 {
				err = fmt.Errorf("loading image %s: %w: no linux/amd64 image; name one with FROM --platform", key.ref, image.ErrPlatformNotFound)
			}
		}
	}
	if err != nil {
		return dockerfile.BaseImage{}, loadError(key.ref, err)
	}
	in, _ := image.InheritedFrom(docs[0])
	return dockerfile.BaseImage{Name: in.Name, User: in.User, Entrypoint: in.Entrypoint, Cmd: in.Cmd}, nil
}

// problems adds one Problem per base reference that could not be known and
// per base image that could not be fetched, in a stable order, and returns
// an error when any fetch failed.
func (r *baseResolver) problems(res *Result) error {
	if r == nil {
		return nil
	}
	var notes []string
	for _, s := range r.skipped {
		notes = append(notes, s)
	}
	sort.Strings(notes)
	for _, n := range notes {
		res.Problems = append(res.Problems, Problem{Err: fmt.Errorf("%s: checked without its base image", n)})
	}
	return r.fetches.problems(res,
		func(k baseKey) string { return k.ref + " " + k.platform },
		func(users string, err error) error {
			return fmt.Errorf("base image of %s: %w; checked the Dockerfile without it", users, err)
		},
		r.opts.Timeout, "base images")
}
