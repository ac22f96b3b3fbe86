package check

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// loaded is a source loaded ahead of the run.
type loaded struct {
	doc  *document.Document
	perr *document.ParseError
}

// bakeBuild is one Dockerfile stage that some bake targets build.
type bakeBuild struct {
	file, display string // the Dockerfile to open, and its reported path
	stage         string // "" for the last stage
	inline        []byte // a dockerfile-inline
	anchor        *document.Location
	targets       []string
}

// expandBakeTargets loads the bake files among sources (ahead of the
// run: there are few) and makes the Dockerfiles their targets build
// sources of their own, one per built stage, with the targets as the
// findings' subject: the stage a target builds is the final stage for
// that target. A walked Dockerfile that a bake target builds is judged
// only as the targets build it; one no target builds is judged as usual.
// Relative contexts are resolved against the bake file's directory, where
// `docker buildx bake` runs; remote contexts are left to the build.
func expandBakeTargets(sources []input.Source, opts input.LoadOptions, wd string, exclude func(string) bool) ([]input.Source, map[int]loaded) {
	pre := map[int]loaded{}
	builds := map[string]*bakeBuild{} // by file or inline anchor, and stage
	var order []string
	for i, src := range sources {
		if src.Kind != document.KindBake {
			continue
		}
		doc, perr := input.LoadDocument(src, opts)
		pre[i] = loaded{doc, perr}
		if doc == nil {
			continue
		}
		for _, b := range bakeBuildsOf(doc, src.File, wd) {
			if b.inline == nil && exclude != nil && exclude(b.display) {
				continue
			}
			key := b.file + "\x00" + b.stage
			if b.inline != nil {
				key = fmt.Sprintf("%s\x00%d:%d\x00%s", b.display, b.anchor.Line, b.anchor.Column, b.stage)
			}
			if have, ok := builds[key]; ok {
				have.targets = append(have.targets, b.targets...)
				continue
			}
			builds[key] = b
			order = append(order, key)
		}
	}
	if len(builds) == 0 {
		return sources, pre
	}
	built := map[string]bool{}
	for _, b := range builds {
		if b.inline == nil {
			built[b.file] = true
		}
	}
	out := make([]input.Source, 0, len(sources)+len(builds))
	kept := map[int]loaded{}
	for i, src := range sources {
		if src.Kind == document.KindDockerfile && built[src.File] {
			continue // judged below, as the targets build it
		}
		if l, ok := pre[i]; ok {
			kept[len(out)] = l
		}
		out = append(out, src)
	}
	sort.Strings(order)
	for _, key := range order {
		b := builds[key]
		slices.Sort(b.targets)
		b.targets = slices.Compact(b.targets)
		word := "target"
		if len(b.targets) > 1 {
			word = "targets"
		}
		src := input.Source{
			Path:    b.display,
			File:    b.file,
			Kind:    document.KindDockerfile,
			Target:  b.stage,
			Data:    b.inline,
			Anchor:  b.anchor,
			Subject: "bake " + word + " " + strings.Join(b.targets, ", "),
		}
		out = append(out, src)
	}
	return out, kept
}

// bakeBuildsOf lists what the built targets of a bake document build.
func bakeBuildsOf(doc *document.Document, bakeFile, wd string) []*bakeBuild {
	targets, _ := doc.Input["targets"].([]any)
	var out []*bakeBuild
	for _, t := range targets {
		m, _ := t.(map[string]any)
		if built, _ := m["built"].(bool); !built {
			continue
		}
		name, _ := m["name"].(string)
		stage := settingValue(m["target"])
		if inline, ok := m["dockerfile_inline"].(map[string]any); ok {
			value, _ := inline["value"].(string)
			loc := document.LocationOf(inline["location"])
			p, _ := inline["path"].(string)
			out = append(out, &bakeBuild{display: displayOf(p, bakeFile, doc.Path, wd), stage: stage, inline: []byte(value), anchor: &loc, targets: []string{name}})
			continue
		}
		context := settingValue(m["context"])
		if context == "" {
			context = "."
		}
		if strings.Contains(context, "://") || strings.HasPrefix(context, "git@") || strings.HasPrefix(context, "target:") {
			continue // a remote or another target's context: nothing here to read
		}
		dockerfile := settingValue(m["dockerfile"])
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		base := filepath.Dir(bakeFile)
		if !filepath.IsAbs(context) {
			context = filepath.Join(base, filepath.FromSlash(context))
		}
		file := filepath.FromSlash(dockerfile)
		if !filepath.IsAbs(file) {
			file = filepath.Join(context, file)
		}
		if info, err := os.Stat(file); err != nil || !info.Mode().IsRegular() {
			continue // the build fails on it; the bake rules still judge the target
		}
		out = append(out, &bakeBuild{file: file, display: repopath.Display(wd, file), stage: stage, targets: []string{name}})
	}
	return out
}

// displayOf is the reported path of the bake file that holds an
// attribute: the document's own path unless the attribute came from a
// merged file (docker-bake.override.hcl).
func displayOf(attrPath, bakeFile, docPath, wd string) string {
	if attrPath == "" || path.Base(filepath.ToSlash(attrPath)) == path.Base(docPath) {
		return docPath
	}
	return repopath.Display(wd, filepath.Join(filepath.Dir(bakeFile), filepath.Base(attrPath)))
}

func settingValue(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["value"].(string)
	return s
}
