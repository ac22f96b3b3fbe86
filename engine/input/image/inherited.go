package image

import "github.com/devflow/dwf-policy/engine/document"

// Inherited is what a Dockerfile built FROM an image takes from the
// image's config.
type Inherited struct {
	// Name is the image's subject: reference and digest.
	Name       string
	User       string
	Entrypoint []string
	Cmd        []string
}

// InheritedFrom reads the config of the first platform of a document Load
// returned, and how many platforms the document holds.
func InheritedFrom(doc *document.Document) (Inherited, int) {
	items, _ := doc.Input["platforms"].([]any)
	var out Inherited
	out.Name, _ = doc.Input["subject"].(string)
	if len(items) == 0 {
		return out, 0
	}
	p, _ := items[0].(map[string]any)
	cfg, _ := p["config"].(map[string]any)
	out.User, _ = cfg["user"].(string)
	out.Entrypoint = stringsOf(cfg["entrypoint"])
	out.Cmd = stringsOf(cfg["cmd"])
	return out, len(items)
}

func stringsOf(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, x := range items {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
