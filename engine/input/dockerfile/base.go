package dockerfile

import (
	"encoding/json"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
)

// BaseRef is the image the final stage's FROM chain starts from, as
// BaseImageRef finds it in a document.
type BaseRef struct {
	// Image is the reference after expanding global ARGs
	// ("registry.example/devflow/base:1"), or as written when it does not
	// resolve.
	Image string
	// Platform is the FROM's --platform when it names one platform
	// ("linux/arm64"), "" when it is unset or a variable such as
	// $BUILDPLATFORM.
	Platform string
	// Resolved is false when the reference uses a variable that has no
	// value, so the image cannot be known without the build arguments.
	Resolved bool
	// Stage is the index of the stage whose FROM names the image;
	// Location is that FROM.
	Stage    int
	Location document.Location
}

// BaseImageRef returns the image at the root of the final stage's FROM
// chain when that image may supply what the Dockerfile leaves unset: the
// final stage has no USER or no ENTRYPOINT. ok is false when there is
// nothing to fetch: the Dockerfile sets both, or the chain starts FROM
// scratch, which has no config.
func BaseImageRef(doc *document.Document) (ref BaseRef, ok bool) {
	if doc == nil || doc.Kind != document.KindDockerfile {
		return BaseRef{}, false
	}
	final, root := finalAndRoot(doc.Input)
	if final == nil || root == nil {
		return BaseRef{}, false
	}
	if final["user"] != nil && final["entrypoint"] != nil {
		return BaseRef{}, false
	}
	from, _ := root["from"].(map[string]any)
	if from == nil || from["scratch"] == true || from["stage"] != nil {
		return BaseRef{}, false
	}
	ref.Resolved, _ = from["resolved"].(bool)
	ref.Image, _ = from["expanded"].(string)
	if !ref.Resolved {
		ref.Image, _ = from["image"].(string) // as written, for messages
	}
	if p, _ := from["platform"].(string); isConcretePlatform(p) {
		ref.Platform = p
	}
	ref.Stage, _ = root["index"].(int)
	ref.Location = locationOf(from["location"])
	return ref, ref.Image != ""
}

// BaseImage is what an image config sets that a Dockerfile stage built
// FROM it inherits.
type BaseImage struct {
	// Name identifies the image, reference and digest
	// ("registry.example/devflow/base:1@sha256:..."); the document records
	// it as from_image.
	Name string
	// User, Entrypoint and Cmd are the config's User, Entrypoint and Cmd.
	User       string
	Entrypoint []string
	Cmd        []string
}

// MergeBaseImage fills in what the stages of the final FROM chain inherit
// from base, the image their root stage is built FROM, the way Docker does:
// the config's User where no USER is set, its Entrypoint where no
// ENTRYPOINT is set, and its Cmd where neither CMD nor ENTRYPOINT is set
// (an ENTRYPOINT instruction resets an inherited CMD). Merged facts are
// marked inherited, carry from_image, and are located at the root stage's
// FROM, the line that brings them in. Empty config values merge nothing: an
// unset User still means root. It reports whether anything was merged.
func MergeBaseImage(doc *document.Document, base BaseImage) bool {
	ref, ok := BaseImageRef(doc)
	if !ok {
		return false
	}
	loc := ref.Location.Value()
	var user, entrypoint, cmd map[string]any
	if base.User != "" {
		user = baseUser(base, ref.Stage, loc)
	}
	if len(base.Entrypoint) > 0 {
		entrypoint = baseCommand(base.Entrypoint, base.Name, ref.Stage, loc)
	}
	if len(base.Cmd) > 0 {
		cmd = baseCommand(base.Cmd, base.Name, ref.Stage, loc)
	}

	final, _ := doc.Input["final"].(map[string]any)
	stages, _ := doc.Input["stages"].([]any)
	merged := false
	// merge sets a stage's (or the final stage's) facts; each stage is
	// decided on its own facts, before anything is merged into it.
	merge := func(m map[string]any) {
		hadEntrypoint := m["entrypoint"] != nil
		if user != nil && m["user"] == nil {
			m["user"] = user
			merged = true
		}
		if entrypoint != nil && !hadEntrypoint {
			m["entrypoint"] = entrypoint
			merged = true
		}
		if cmd != nil && m["cmd"] == nil && !hadEntrypoint {
			m["cmd"] = cmd
			merged = true
		}
	}
	for _, i := range intsOf(final["chain"]) {
		if i >= 0 && i < len(stages) {
			if s, ok := stages[i].(map[string]any); ok {
				merge(s)
			}
		}
	}
	merge(final)
	return merged
}

// baseUser is the user object of a config's User: not written in the
// Dockerfile, so nothing to expand and nothing unresolved, except an empty
// user part ("":group), which the runtime refuses.
func baseUser(base BaseImage, stage int, loc map[string]any) map[string]any {
	name, group, _ := strings.Cut(base.User, ":")
	resolved, reason := true, ""
	if strings.TrimSpace(name) == "" {
		resolved, reason = false, "the base image's config user has an empty user part"
	}
	var uid any
	if n, ok := numericID(name); ok && resolved {
		uid = n
	}
	return map[string]any{
		"raw": base.User, "value": base.User, "resolved": resolved, "reason": reason,
		"name": name, "group": group, "uid": uid,
		"inherited": true, "from_image": base.Name, "stage": stage, "location": loc,
	}
}

// baseCommand is the command object of a config's Entrypoint or Cmd, which
// a config always holds in exec form (a Dockerfile's shell form arrives as
// ["/bin/sh", "-c", script]).
func baseCommand(words []string, from string, stage int, loc map[string]any) map[string]any {
	raw := "[]"
	if b, err := json.Marshal(words); err == nil {
		raw = string(b)
	}
	return map[string]any{
		"form": "exec", "words": strList(words), "raw": raw,
		"inherited": true, "from_image": from, "stage": stage, "location": loc,
	}
}

// finalAndRoot returns the document's final object and the stage its
// chain starts from.
func finalAndRoot(in map[string]any) (final, root map[string]any) {
	final, _ = in["final"].(map[string]any)
	stages, _ := in["stages"].([]any)
	if final == nil {
		return nil, nil
	}
	chain := intsOf(final["chain"])
	if len(chain) == 0 || chain[0] < 0 || chain[0] >= len(stages) {
		return final, nil
	}
	root, _ = stages[chain[0]].(map[string]any)
	return final, root
}

// isConcretePlatform reports whether a FROM --platform value names one
// platform (os/arch[/variant]) rather than a build argument.
func isConcretePlatform(p string) bool {
	parts := strings.Split(p, "/")
	if strings.Contains(p, "$") || len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, s := range parts {
		if s == "" {
			return false
		}
	}
	return true
}

func intsOf(v any) []int {
	items, _ := v.([]any)
	out := make([]int, 0, len(items))
	for _, x := range items {
		if n, ok := x.(int); ok {
			out = append(out, n)
		}
	}
	return out
}

func locationOf(v any) document.Location {
	m, _ := v.(map[string]any)
	line, _ := m["line"].(int)
	col, _ := m["column"].(int)
	endLine, _ := m["end_line"].(int)
	endCol, _ := m["end_column"].(int)
	return document.Location{Line: line, Column: col, EndLine: endLine, EndColumn: endCol}
}
