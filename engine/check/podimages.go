package check

import (
	"context"
	"fmt"
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
	fetches *fetches[string, map[string]any]
}

func newPodImageResolver(opts image.Options) *podImageResolver {
	opts.Platforms = nil // every platform: the node decides which runs
	return &podImageResolver{
		opts:    opts,
		fetches: newFetches[string, map[string]any](),
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
	configs := make([]map[string]any, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Go(func() {
			configs[i], errs[i] = r.fetches.get(ref, doc.Path, func() (map[string]any, error) { return r.fetch(ctx, ref) })
		})
	}
	wg.Wait()
	for i, ref := range refs {
		if errs[i] == nil {
			kubernetes.SetImageConfig(doc, ref, configs[i])
		}
	}
}

// fetch loads one image and keeps what a pod spec combines with: per
// platform, its user, entrypoint and cmd.
func (r *podImageResolver) fetch(ctx context.Context, ref string) (map[string]any, error) {
	docs, err := image.Load(ctx, ref, r.opts)
	if err != nil {
		return nil, loadError(ref, err)
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
	return r.fetches.problems(res,
		func(ref string) string { return ref },
		func(users string, err error) error {
			return fmt.Errorf("container image of %s: %w; checked its containers on the manifest alone", users, err)
		},
		r.opts.Timeout, "container images")
}
