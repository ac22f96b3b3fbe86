package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/image"
	"github.com/devflow/dwf-policy/engine/input/kubernetes"
)

// podImageResolver loads the images Kubernetes containers run, for
// FilesOptions.ResolveImages: each distinct reference once per check, every
// platform, /etc/passwd included (a user given by name is resolved), a few
// at a time, and records their user, entrypoint and cmd in the documents'
// containers. A nil *podImageResolver resolves nothing.
type podImageResolver struct {
	opts    image.Options
	sem     chan struct{}
	mu      sync.Mutex
	fetches map[string]*podImageFetch
}

type podImageFetch struct {
	once   sync.Once
	config map[string]any
	err    error
	users  []string // the manifests that wanted it, for the error message
}

func newPodImageResolver(opts image.Options) *podImageResolver {
	opts.Platforms = nil // every platform: the node decides which runs
	return &podImageResolver{
		opts:    opts,
		sem:     make(chan struct{}, maxImagesAtOnce),
		fetches: map[string]*podImageFetch{},
	}
}

// resolve records the config of every container image of a kubernetes
// document. An image that cannot be loaded is left unresolved (its
// containers are judged on the manifest alone) and problems says why.
func (r *podImageResolver) resolve(ctx context.Context, doc *document.Document) {
	if r == nil || doc.Kind != document.KindKubernetes {
		return
	}
	refs := kubernetes.ImageRefs(doc)
	fetches := make([]*podImageFetch, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		r.mu.Lock()
		f, ok := r.fetches[ref]
		if !ok {
			f = &podImageFetch{}
			r.fetches[ref] = f
		}
		f.users = append(f.users, doc.Path)
		r.mu.Unlock()
		fetches[i] = f
		wg.Go(func() {
			f.once.Do(func() {
				r.sem <- struct{}{}
				defer func() { <-r.sem }()
				f.config, f.err = r.fetch(ctx, ref)
			})
		})
	}
	wg.Wait()
	for i, f := range fetches {
		if f.err == nil {
			kubernetes.SetImageConfig(doc, refs[i], f.config)
		}
	}
}

// fetch loads one image and keeps what a pod spec combines with: per
// platform, its user, entrypoint and cmd.
func (r *podImageResolver) fetch(ctx context.Context, ref string) (map[string]any, error) {
	docs, err := image.Load(ctx, ref, r.opts)
	if err != nil {
		if perr, ok := errors.AsType[*document.ParseError](err); ok {
			return nil, fmt.Errorf("loading image %s: %s", ref, perr.Message)
		}
		return nil, err
	}
	return podImageConfig(docs[0]), nil
}

// podImageConfig turns an image document into a container's image_config
// (engine/document/schemas/kubernetes.json).
func podImageConfig(doc *document.Document) map[string]any {
	items, _ := doc.Input["platforms"].([]any)
	platforms := make([]any, 0, len(items))
	for _, it := range items {
		p, _ := it.(map[string]any)
		platforms = append(platforms, map[string]any{
			"platform":   p["platform"],
			"digest":     p["digest"],
			"subject":    p["subject"],
			"user":       p["user"],
			"entrypoint": p["entrypoint"],
			"cmd":        p["cmd"],
		})
	}
	return map[string]any{"subject": doc.Input["subject"], "platforms": platforms}
}

// problems adds one Problem per image that could not be loaded, in a
// stable order, and returns an error when any failed.
func (r *podImageResolver) problems(res *Result) error {
	if r == nil {
		return nil
	}
	var refs []string
	for ref, f := range r.fetches {
		if f.err != nil {
			refs = append(refs, ref)
		}
	}
	sort.Strings(refs)
	for _, ref := range refs {
		f := r.fetches[ref]
		users := append([]string(nil), f.users...)
		sort.Strings(users)
		users = compactSorted(users)
		res.Problems = append(res.Problems, Problem{
			Err:  fmt.Errorf("container image of %s: %w; checked its containers on the manifest alone", strings.Join(users, ", "), f.err),
			Hint: image.Hint(f.err, r.opts.Timeout),
		})
	}
	if len(refs) > 0 {
		return fmt.Errorf("%d of %d container images could not be resolved", len(refs), len(r.fetches))
	}
	return nil
}

func compactSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
