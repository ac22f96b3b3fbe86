package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	sem     chan struct{}
	mu      sync.Mutex
	fetches map[baseKey]*baseFetch
	// skipped lists Dockerfiles whose base reference uses a variable with
	// no value, by path.
	skipped map[string]string
}

type baseKey struct{ ref, platform string }

type baseFetch struct {
	once  sync.Once
	base  dockerfile.BaseImage
	err   error
	users []string // the Dockerfiles that wanted it, for the error message
}

func newBaseResolver(opts image.Options) *baseResolver {
	opts.SkipLayers = true // the config is all a Dockerfile inherits
	return &baseResolver{
		opts:    opts,
		sem:     make(chan struct{}, maxImagesAtOnce),
		fetches: map[baseKey]*baseFetch{},
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
	r.mu.Lock()
	f, ok := r.fetches[key]
	if !ok {
		f = &baseFetch{}
		r.fetches[key] = f
	}
	f.users = append(f.users, doc.Path)
	r.mu.Unlock()
	f.once.Do(func() {
		r.sem <- struct{}{}
		defer func() { <-r.sem }()
		f.base, f.err = r.fetch(ctx, key)
	})
	if f.err == nil {
		dockerfile.MergeBaseImage(doc, f.base)
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
		if perr, ok := errors.AsType[*document.ParseError](err); ok {
			return dockerfile.BaseImage{}, fmt.Errorf("loading image %s: %s", key.ref, perr.Message)
		}
		return dockerfile.BaseImage{}, err
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
	keys := make([]baseKey, 0, len(r.fetches))
	for k, f := range r.fetches {
		if f.err != nil {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].ref+" "+keys[i].platform < keys[j].ref+" "+keys[j].platform
	})
	for _, k := range keys {
		f := r.fetches[k]
		users := append([]string(nil), f.users...)
		sort.Strings(users)
		res.Problems = append(res.Problems, Problem{
			Err:  fmt.Errorf("base image of %s: %w; checked the Dockerfile without it", strings.Join(users, ", "), f.err),
			Hint: image.Hint(f.err, r.opts.Timeout),
		})
	}
	if len(keys) > 0 {
		return fmt.Errorf("%d of %d base images could not be resolved", len(keys), len(r.fetches))
	}
	return nil
}
