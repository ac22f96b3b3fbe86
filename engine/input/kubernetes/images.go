package kubernetes

import "github.com/devflow/dwf-policy/engine/document"

// ImageRefs returns the distinct container images of a kubernetes
// document, in the order they first appear.
func ImageRefs(doc *document.Document) []string {
	var out []string
	seen := map[string]bool{}
	eachContainer(doc, func(c map[string]any) {
		img, _ := c["image"].(map[string]any)
		if ref, _ := img["value"].(string); ref != "" && !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	})
	return out
}

// SetImageConfig records the resolved config of image ref in every
// container of doc that runs it. config is the container's image_config
// (schema kubernetes.json): the image's subject and, per platform, its
// user, entrypoint and cmd as the image document has them: a
// map[string]any, or a value the engine takes as it is (the OPA value of
// that map, converted once by a caller that sees the same image again and
// again, as the admission webhook does). It is shared between containers
// and documents, and must not be changed afterwards.
func SetImageConfig(doc *document.Document, ref string, config any) {
	eachContainer(doc, func(c map[string]any) {
		img, _ := c["image"].(map[string]any)
		if v, _ := img["value"].(string); v == ref {
			c["image_config"] = config
		}
	})
}

func eachContainer(doc *document.Document, f func(map[string]any)) {
	if doc == nil || doc.Kind != document.KindKubernetes {
		return
	}
	ws, _ := doc.Input["workloads"].([]any)
	for _, w := range ws {
		wm, _ := w.(map[string]any)
		cs, _ := wm["containers"].([]any)
		for _, c := range cs {
			if cm, ok := c.(map[string]any); ok {
				f(cm)
			}
		}
	}
}
