// Package kubernetes turns Kubernetes manifests into a positioned document:
// every workload's pod spec with its containers (init, regular and
// ephemeral), their image, command, args and securityContext, and the
// effective runAsUser and runAsNonRoot of each container (the container's
// securityContext over the pod's), each with the position of the field it
// comes from.
//
// A file may hold several YAML documents (`---`), `kind: List` (or any
// `*List`) objects with `items`, `helm template` output (whose `# Source:`
// comments name the template an object came from) and kustomize output; JSON
// manifests are read by the same YAML parser. The reading is schema-led over
// the node tree of go.yaml.in/yaml/v4, not through k8s.io/api types, so that
// the position of every field survives and nothing under engine/ depends on
// Kubernetes client libraries. Objects that carry no pod spec are skipped;
// YAML documents that are not Kubernetes objects (no apiVersion and kind) are
// skipped too. A workload that is malformed where the rules look (a container
// without an image, containers that are not a list, a runAsUser that is not
// an integer) is a *document.ParseError at its line.
package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/devflow/dwf-policy/engine/analysis/yamlpos"
	"github.com/devflow/dwf-policy/engine/document"
)

// DefaultMaxBytes is the largest file Parse accepts when Options.MaxBytes is
// zero.
const DefaultMaxBytes = 5 << 20

// Limits on what one file may hold; real manifests are far below them.
const (
	// maxDocuments caps the YAML documents of one file.
	maxDocuments = 10000
	// maxListDepth caps Lists nested in Lists.
	maxListDepth = 4
)

// Options configures Parse. The zero value caps input at DefaultMaxBytes.
type Options struct {
	// MaxBytes caps the file's size; zero means DefaultMaxBytes.
	MaxBytes int
}

// podSpecPaths says where each workload kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// WorkloadKinds returns the object kinds whose pod spec is read, sorted.
func WorkloadKinds() []string {
	out := make([]string, 0, len(podSpecPaths))
	for k := range podSpecPaths {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// containerLists are the pod spec's container lists and the type each
// gives its containers, in the order the kubelet starts them.
var containerLists = []struct{ key, typ string }{
	{"initContainers", "init"},
	{"containers", "container"},
	{"ephemeralContainers", "ephemeral"},
}

// shells are the programs whose `-c` makes a script, not the program, the
// process the container starts.
var shells = []string{"sh", "bash", "ash", "dash", "zsh", "ksh"}

// Sniff reports whether data looks like a Kubernetes manifest: YAML with
// `apiVersion:` and `kind:` keys at the start of a line (the root of some
// document), or a JSON object with both keys. It is a cheap prefilter
// before a full parse, so that a repository full of other YAML stays fast.
func Sniff(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return bytes.Contains(data, []byte(`"apiVersion"`)) && bytes.Contains(data, []byte(`"kind"`))
	}
	var api, kind bool
	for line := range bytes.Lines(data) {
		switch {
		case bytes.HasPrefix(line, []byte("apiVersion:")):
			api = true
		case bytes.HasPrefix(line, []byte("kind:")):
			kind = true
		}
		if api && kind {
			return true
		}
	}
	return false
}

// Parse parses the manifests in src into a document of kind kubernetes. A
// problem in the file (too large, not YAML, an alias bomb, a malformed
// workload) is returned as a *document.ParseError; any other error means
// the parse itself failed.
func Parse(name string, src []byte, opts Options) (doc *document.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("parsing Kubernetes manifest %s: internal error: %v", name, r)
		}
	}()
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if len(src) > limit {
		return nil, &document.ParseError{Path: name, Message: fmt.Sprintf("manifest is %d bytes, more than the %d-byte limit", len(src), limit)}
	}
	b := &builder{t: yamlpos.New(src), path: name}
	roots, pe := b.decode(src)
	if pe != nil {
		return nil, pe
	}
	return b.document(src, roots)
}

// document reads the workloads of the parsed YAML documents of src.
func (b *builder) document(src []byte, roots []*yaml.Node) (*document.Document, error) {
	name := b.path
	workloads := []any{}
	for i, root := range roots {
		if len(root.Content) == 0 {
			continue // an empty document, such as helm's for a disabled template
		}
		if top := yamlpos.Deref(root.Content[0]); top.Kind == yaml.SequenceNode {
			// Kubernetes objects in a bare list (a JSON array) are a
			// mistake worth saying; any other list (an Ansible
			// playbook) is not Kubernetes.
			if holdsObject(top) {
				return nil, b.problem(top, "the document is a list, not a Kubernetes object; put objects in the items of a `kind: List`")
			}
			continue
		}
		ws, pe := b.object(root.Content[0], i, b.helmSource(root.Content[0]), 0)
		if pe != nil {
			return nil, pe
		}
		workloads = append(workloads, ws...)
	}
	in := map[string]any{
		"kind":      string(document.KindKubernetes),
		"path":      name,
		"workloads": workloads,
	}
	return &document.Document{Kind: document.KindKubernetes, Path: name, Source: src, Input: in}, nil
}

type builder struct {
	t    *yamlpos.Text
	path string
}

func (b *builder) loc(n *yaml.Node) document.Location {
	r := b.t.Range(n)
	return document.Location{Line: r.Line, Column: r.Column, EndLine: r.EndLine, EndColumn: r.EndColumn}
}

func (b *builder) entryLoc(k, v *yaml.Node) document.Location {
	r := b.t.EntryRange(k, v)
	return document.Location{Line: r.Line, Column: r.Column, EndLine: r.EndLine, EndColumn: r.EndColumn}
}

func (b *builder) problem(n *yaml.Node, format string, args ...any) *document.ParseError {
	pe := &document.ParseError{Path: b.path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		pe.Location = b.loc(n)
	}
	return pe
}

// yamlError turns the YAML library's error into a ParseError at its mark.
func (b *builder) yamlError(err error) *document.ParseError {
	pe := &document.ParseError{Path: b.path, Message: "could not parse as YAML: " + err.Error()}
	if ye, ok := errors.AsType[*yaml.ParserError](err); ok {
		pe.Message = "could not parse as YAML: " + ye.Message
		if line, col := yamlpos.ErrorPos(ye); line > 0 {
			pe.Location = document.Location{Line: line, Column: col, EndLine: line, EndColumn: col}
		}
	}
	return pe
}

// decode reads every YAML document of the file, then refuses the file if
// an alias forms a cycle or the aliases of all its documents together
// expand to more than yamlpos.AliasLimit of its size.
func (b *builder) decode(src []byte) ([]*yaml.Node, *document.ParseError) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var roots []*yaml.Node
	for {
		root := &yaml.Node{}
		err := dec.Decode(root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, b.yamlError(err)
		}
		if len(roots) >= maxDocuments {
			return nil, b.problem(root, "the file holds more than %d YAML documents", maxDocuments)
		}
		roots = append(roots, root)
	}
	all := &yaml.Node{Kind: yaml.SequenceNode, Content: roots}
	if n := yamlpos.RecursiveAlias(all); n != nil {
		return nil, b.problem(n, "YAML alias *%s refers to a node that contains it; refusing to expand it", n.Value)
	}
	if n := yamlpos.AliasBomb(all, yamlpos.AliasLimit(len(src))); n != nil {
		return nil, b.problem(n, "YAML aliases expand the file to more than %d bytes, the limit for a %d-byte file (max(%d, %d × its size)); refusing to expand it",
			yamlpos.AliasLimit(len(src)), len(src), yamlpos.MinAliasBytes, yamlpos.AliasBytesFactor)
	}
	return roots, nil
}

// helmSource is the template named by a `# Source: ` comment between the
// document's start (`---` or the top of the file) and its first key, as
// `helm template` writes it; "" when there is none.
func (b *builder) helmSource(root *yaml.Node) string {
	for l := root.Line - 1; l >= 1 && l > root.Line-50; l-- {
		line := strings.TrimSpace(b.t.Line(l))
		if line == "---" || strings.HasPrefix(line, "--- ") {
			break
		}
		if s, ok := strings.CutPrefix(line, "# Source:"); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// holdsObject reports whether a sequence holds a mapping with apiVersion
// and kind.
func holdsObject(seq *yaml.Node) bool {
	for _, it := range seq.Content {
		_, a := get(it, "apiVersion")
		_, k := get(it, "kind")
		if _, ok := scalar(a); ok {
			if _, ok := scalar(k); ok {
				return true
			}
		}
	}
	return false
}

// get returns the key and value nodes of key in mapping m (aliases
// followed), or nils.
func get(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m = yamlpos.Deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := yamlpos.Deref(m.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// scalar returns the text of a scalar value, or "" and false.
func scalar(v *yaml.Node) (string, bool) {
	d := yamlpos.Deref(v)
	if d == nil || d.Kind != yaml.ScalarNode {
		return "", false
	}
	return d.Value, true
}

// isNull reports whether a value is absent or written as null.
func isNull(v *yaml.Node) bool {
	d := yamlpos.Deref(v)
	return d == nil || (d.Kind == yaml.ScalarNode && d.ShortTag() == "!!null")
}

// object reads one Kubernetes object: a List's items, a workload's pod
// spec, or nothing for other objects and for YAML that is not Kubernetes.
func (b *builder) object(n *yaml.Node, docIndex int, helm string, depth int) ([]any, *document.ParseError) {
	m := yamlpos.Deref(n)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	_, apiV := get(m, "apiVersion")
	kindK, kindV := get(m, "kind")
	api, ok1 := scalar(apiV)
	kind, ok2 := scalar(kindV)
	if !ok1 || !ok2 || api == "" || kind == "" {
		return nil, nil // not a Kubernetes object
	}
	if strings.HasSuffix(kind, "List") {
		itemsK, itemsV := get(m, "items")
		if isNull(itemsV) {
			return nil, nil
		}
		items := yamlpos.Deref(itemsV)
		if items.Kind != yaml.SequenceNode {
			return nil, b.problem(itemsV, "%s items is not a list", kind)
		}
		if depth >= maxListDepth {
			return nil, b.problem(itemsK, "Lists are nested more than %d deep", maxListDepth)
		}
		var out []any
		for _, it := range items.Content {
			ws, pe := b.object(it, docIndex, helm, depth+1)
			if pe != nil {
				return nil, pe
			}
			out = append(out, ws...)
		}
		return out, nil
	}
	specPath, ok := podSpecPaths[kind]
	if !ok {
		return nil, nil
	}
	_, meta := get(m, "metadata")
	_, nameV := get(meta, "name")
	_, nsV := get(meta, "namespace")
	name, _ := scalar(nameV)
	ns, _ := scalar(nsV)
	w := map[string]any{
		"api_version":          api,
		"kind":                 kind,
		"name":                 name,
		"namespace":            ns,
		"helm_source":          helm,
		"document":             docIndex,
		"location":             b.entryLoc(kindK, kindV).Value(),
		"pod_security_context": emptySecurityContext(),
		"containers":           []any{},
	}
	spec := m
	var specNode *yaml.Node
	for i, key := range specPath {
		_, v := get(spec, key)
		if isNull(v) {
			return []any{w}, nil // a workload without a pod spec, such as a patch
		}
		if d := yamlpos.Deref(v); d.Kind != yaml.MappingNode {
			return nil, b.problem(v, "%s %s is not a mapping", kind, strings.Join(specPath[:i+1], "."))
		}
		spec, specNode = v, v
	}
	podSC, pe := b.securityContext(specNode, "pod")
	if pe != nil {
		return nil, pe
	}
	w["pod_security_context"] = podSC
	containers := []any{}
	for _, list := range containerLists {
		_, v := get(specNode, list.key)
		if isNull(v) {
			continue
		}
		seq := yamlpos.Deref(v)
		if seq.Kind != yaml.SequenceNode {
			return nil, b.problem(v, "%s %s.%s is not a list", kind, strings.Join(specPath, "."), list.key)
		}
		for _, item := range seq.Content {
			c, pe := b.container(item, list.typ, podSC)
			if pe != nil {
				return nil, pe
			}
			containers = append(containers, c)
		}
	}
	w["containers"] = containers
	return []any{w}, nil
}

func emptySecurityContext() map[string]any {
	return map[string]any{"location": nil, "run_as_user": nil, "run_as_group": nil, "run_as_non_root": nil}
}

// securityContext reads the securityContext of a pod spec or container.
func (b *builder) securityContext(owner *yaml.Node, level string) (map[string]any, *document.ParseError) {
	out := emptySecurityContext()
	k, v := get(owner, "securityContext")
	if isNull(v) {
		return out, nil
	}
	if yamlpos.Deref(v).Kind != yaml.MappingNode {
		return nil, b.problem(v, "the %s securityContext is not a mapping", level)
	}
	out["location"] = b.loc(k).Value()
	for _, f := range []struct{ key, field string }{{"runAsUser", "run_as_user"}, {"runAsGroup", "run_as_group"}} {
		fk, fv := get(v, f.key)
		if isNull(fv) {
			continue
		}
		d := yamlpos.Deref(fv)
		if d.Kind != yaml.ScalarNode || d.ShortTag() != "!!int" {
			return nil, b.problem(fv, "%s in the %s securityContext is not an integer", f.key, level)
		}
		var n int
		if err := d.Decode(&n); err != nil {
			return nil, b.problem(fv, "%s in the %s securityContext is not a 64-bit integer", f.key, level)
		}
		out[f.field] = map[string]any{"value": n, "location": b.entryLoc(fk, fv).Value()}
	}
	if fk, fv := get(v, "runAsNonRoot"); !isNull(fv) {
		d := yamlpos.Deref(fv)
		if d.Kind != yaml.ScalarNode || d.ShortTag() != "!!bool" {
			return nil, b.problem(fv, "runAsNonRoot in the %s securityContext is not true or false", level)
		}
		var val bool
		if err := d.Decode(&val); err != nil {
			return nil, b.problem(fv, "runAsNonRoot in the %s securityContext is not true or false", level)
		}
		out["run_as_non_root"] = map[string]any{"value": val, "location": b.entryLoc(fk, fv).Value()}
	}
	return out, nil
}

// container reads one container and derives its effective securityContext.
func (b *builder) container(item *yaml.Node, typ string, podSC map[string]any) (map[string]any, *document.ParseError) {
	m := yamlpos.Deref(item)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, b.problem(item, "a container is not a mapping")
	}
	_, nameV := get(m, "name")
	name, _ := scalar(nameV)
	imgK, imgV := get(m, "image")
	img, ok := scalar(imgV)
	if !ok || isNull(imgV) || img == "" {
		where := item
		if imgK != nil {
			where = imgK
		}
		label := "a container"
		if name != "" {
			label = fmt.Sprintf("container %q", name)
		}
		return nil, b.problem(where, "%s has no image", label)
	}
	c := map[string]any{
		"name":         name,
		"type":         typ,
		"location":     b.loc(item).Value(),
		"image":        map[string]any{"value": img, "location": b.entryLoc(imgK, imgV).Value()},
		"command":      nil,
		"args":         nil,
		"image_config": nil,
	}
	for _, key := range []string{"command", "args"} {
		k, v := get(m, key)
		if isNull(v) {
			continue
		}
		words, pe := b.words(v, key, name)
		if pe != nil {
			return nil, pe
		}
		if len(words) == 0 {
			continue // an empty list is the same as none
		}
		cmd := map[string]any{"value": words, "location": b.entryLoc(k, v).Value()}
		if key == "command" {
			prog := path.Base(words[0].(string))
			cmd["program"] = prog
			cmd["via_shell"] = len(words) >= 2 && words[1] == "-c" && slices.Contains(shells, prog)
		}
		c[key] = cmd
	}
	sc, pe := b.securityContext(m, "container")
	if pe != nil {
		return nil, pe
	}
	c["security_context"] = sc
	c["effective"] = map[string]any{
		"run_as_user":     effective(sc, podSC, "run_as_user"),
		"run_as_non_root": effective(sc, podSC, "run_as_non_root"),
	}
	return c, nil
}

// effective is the container's value of field over the pod's, with where
// it comes from; nil when neither sets it.
func effective(container, pod map[string]any, field string) any {
	for _, s := range []struct {
		sc   map[string]any
		from string
	}{{container, "container"}, {pod, "pod"}} {
		if v, ok := s.sc[field].(map[string]any); ok {
			return map[string]any{"value": v["value"], "from": s.from, "location": v["location"]}
		}
	}
	return nil
}

// words reads a command or args list of strings.
func (b *builder) words(v *yaml.Node, key, container string) ([]any, *document.ParseError) {
	seq := yamlpos.Deref(v)
	if seq.Kind != yaml.SequenceNode {
		return nil, b.problem(v, "%s of container %q is not a list", key, container)
	}
	out := make([]any, 0, len(seq.Content))
	for _, w := range seq.Content {
		s, ok := scalar(w)
		if !ok {
			return nil, b.problem(w, "%s of container %q holds something other than a string", key, container)
		}
		out = append(out, s)
	}
	return out, nil
}
