// Package bake turns `docker buildx bake` files (docker-bake.hcl,
// docker-bake.json and their overrides) into documents of kind bake.
//
// Evaluation is buildx's own: the HCL evaluator of
// github.com/docker/buildx/bake/hclparser decodes the files, with
// buildx's variables (defaults, typed variables, overrides), its function
// library, user functions, `matrix` and references between blocks. What
// buildx's bake package adds on top (inherits, repeated blocks, groups and
// target defaults) is done here, because dwf-policy needs the position of
// every value and the file it came from, and because bake's own package
// pulls in a command line and a Kubernetes client.
//
// Values come only from the files and from Options.Vars: never from the
// process environment.
package bake

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/docker/buildx/bake/hclparser"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/devflow/dwf-policy/engine/document"
)

// MaxTargets bounds the targets one evaluation may produce, matrix
// expansions included: a matrix that expands further is an error in the
// file, reported before any expansion is built.
const MaxTargets = 1000

// DefaultFileNames are the bake files `docker buildx bake` reads from a
// directory when given no -f, in the order it merges them (compose files
// aside: they are not bake's own format).
var DefaultFileNames = []string{"docker-bake.json", "docker-bake.hcl", "docker-bake.override.json", "docker-bake.override.hcl"}

// Options tune Parse. The zero value is the default.
type Options struct {
	// Vars are variable overrides, as `NAME=VALUE` in the environment of
	// `docker buildx bake`. The process environment is never read.
	Vars map[string]string
	// ReadSibling reads a file in the directory of the parsed file, for
	// the default bake files buildx merges with it; it returns an error
	// satisfying errors.Is(err, fs.ErrNotExist) when there is none. Nil
	// reads nothing: the file is evaluated on its own.
	ReadSibling func(name string) ([]byte, error)
}

// IsDefaultName reports whether base is one of DefaultFileNames.
func IsDefaultName(base string) bool { return slices.Contains(DefaultFileNames, base) }

// srcFile is one file of an evaluation.
type srcFile struct {
	path string // as reported
	data []byte
}

// Parse evaluates the bake file at path (as reported) with content data.
// A default-named file is evaluated together with the other default files
// of its directory, as buildx merges them; the document of the first of
// them (in DefaultFileNames order) carries the result, and the others say
// which file they were merged into. Problems in the files are a
// *document.ParseError.
func Parse(p string, data []byte, opts Options) (*document.Document, error) {
	files := []srcFile{{path: p, data: data}}
	base := path.Base(p)
	if opts.ReadSibling != nil && IsDefaultName(base) {
		files = files[:0]
		dir := path.Dir(p)
		for _, name := range DefaultFileNames {
			sp := name
			if dir != "." {
				sp = dir + "/" + name
			}
			if name == base {
				files = append(files, srcFile{path: p, data: data})
				continue
			}
			d, err := opts.ReadSibling(name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, &document.ParseError{Path: p, Message: fmt.Sprintf("reading %s, which buildx merges with this file: %v", name, err)}
			}
			if len(files) == 0 {
				// An earlier default file owns the evaluation.
				return &document.Document{Kind: document.KindBake, Path: p, Source: data, Input: map[string]any{
					"kind":        string(document.KindBake),
					"path":        p,
					"files":       []any{p},
					"merged_into": sp,
					"groups":      []any{},
					"targets":     []any{},
				}}, nil
			}
			files = append(files, srcFile{path: sp, data: d})
		}
	}
	input, err := evaluate(files, opts)
	if err != nil {
		return nil, err
	}
	input["kind"] = string(document.KindBake)
	input["path"] = p
	return &document.Document{Kind: document.KindBake, Path: p, Source: data, Input: input}, nil
}

// evaluate parses and evaluates files as one bake definition.
func evaluate(files []srcFile, opts Options) (map[string]any, error) {
	parser := hclparse.NewParser()
	hfiles := make([]*hcl.File, 0, len(files))
	owner := files[0].path
	for _, f := range files {
		var hf *hcl.File
		var diags hcl.Diagnostics
		if strings.HasSuffix(strings.ToLower(f.path), ".json") {
			hf, diags = parser.ParseJSON(f.data, f.path)
		} else {
			hf, diags = parser.ParseHCL(f.data, f.path)
		}
		if diags.HasErrors() {
			return nil, diagError(owner, diags)
		}
		hfiles = append(hfiles, hf)
	}
	var c config
	lookup := func(name string) (string, bool) {
		v, ok := opts.Vars[name]
		return v, ok
	}
	meta, diags := hclparser.Parse(hclparser.MergeFiles(hfiles), hclparser.Opt{
		LookupVar:     lookup,
		Vars:          map[string]string{"BAKE_CMD_CONTEXT": "cwd", "BAKE_LOCAL_PLATFORM": localPlatform()},
		ValidateLabel: validateTargetName,
	}, &c)
	if diags.HasErrors() {
		return nil, diagError(owner, diags)
	}
	if len(c.Targets) > MaxTargets {
		return nil, &document.ParseError{Path: owner, Message: fmt.Sprintf("the bake files define %d targets, more than the %d allowed", len(c.Targets), MaxTargets)}
	}
	r := &resolver{owner: owner, byName: map[string]*target{}, done: map[string]*resolved{}}
	for _, t := range c.Targets {
		r.byName[t.Name] = t
	}
	groups := map[string][]string{}
	var groupOut []any
	for _, g := range c.Groups {
		groups[g.Name] = g.Targets
		loc, gp := blockLoc(g.blocks)
		groupOut = append(groupOut, map[string]any{"name": g.Name, "targets": strSlice(g.Targets), "location": loc, "path": gp})
	}
	// buildx names the expansions of a matrix target by a group of its
	// block's label.
	if meta != nil {
		for _, renamed := range meta.Renamed {
			for old, names := range renamed {
				names = dedup(names)
				if len(names) == 1 && names[0] == old {
					continue
				}
				if _, ok := groups[old]; !ok {
					groups[old] = names
				}
			}
		}
	}
	// A target other targets inherit from and no group names is a base:
	// it is judged through the targets that inherit it.
	inGroup := map[string]bool{}
	for _, ts := range groups {
		for _, t := range ts {
			inGroup[t] = true
		}
	}
	inherited := map[string]bool{}
	for _, t := range c.Targets {
		for _, p := range t.parts {
			for _, n := range p.val.Inherits {
				inherited[n] = true
			}
		}
	}
	var fileOut []any
	for _, f := range files {
		fileOut = append(fileOut, f.path)
	}
	targets := make([]any, 0, len(c.Targets))
	for _, t := range c.Targets {
		rt, err := r.resolve(t.Name, nil)
		if err != nil {
			return nil, err
		}
		targets = append(targets, rt.value(!inherited[t.Name] || inGroup[t.Name]))
	}
	if groupOut == nil {
		groupOut = []any{}
	}
	return map[string]any{"files": fileOut, "groups": groupOut, "targets": targets}, nil
}

// localPlatform is what buildx sets BAKE_LOCAL_PLATFORM to.
func localPlatform() string {
	p := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		p += "/v7"
	}
	return p
}

// errAt is a problem at rng, placed in the owner's document; a place in
// another file of the evaluation is named in the message.
func (r *resolver) errAt(rng hcl.Range, msg string) *document.ParseError {
	return diagError(r.owner, hcl.Diagnostics{diagAt(rng, msg)})
}

// diagError turns the first error of diags into a ParseError at its place.
func diagError(owner string, diags hcl.Diagnostics) *document.ParseError {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		pe := &document.ParseError{Path: owner, Message: msg}
		if d.Subject != nil {
			pe.Location = location(*d.Subject)
			if d.Subject.Filename != "" && d.Subject.Filename != owner {
				pe.Message = d.Subject.Filename + ":" + pe.Location.String() + ": " + msg
				pe.Location = document.Location{}
			}
		}
		return pe
	}
	return &document.ParseError{Path: owner, Message: diags.Error()}
}

// location converts an HCL range (end exclusive) to a document location
// (end inclusive).
func location(r hcl.Range) document.Location {
	l := document.Location{Line: r.Start.Line, Column: r.Start.Column, EndLine: r.End.Line, EndColumn: r.End.Column - 1}
	if l.EndColumn < 1 {
		l.EndColumn = 1
	}
	return l.Normalized()
}

func blockLoc(blocks []*hcl.Block) (map[string]any, string) {
	if len(blocks) == 0 {
		return document.Location{}.Value(), ""
	}
	return location(blocks[0].DefRange).Value(), blocks[0].DefRange.Filename
}

func strSlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// setting is one resolved attribute: its value and where it was set.
type setting struct {
	set bool
	rng hcl.Range
	str string
	// list values: platforms, or output and cache entries.
	list    []string
	entries []placedEntry
}

type placedEntry struct {
	entry
	rng hcl.Range
}

// resolved is a target with inherits applied, as buildx's ResolveTarget
// returns it, with positions.
type resolved struct {
	name     string
	block    hcl.Range
	inherits []string
	matrix   map[string]string
	fields   map[string]*setting // by attribute name
}

type resolver struct {
	owner  string // the document's path
	byName map[string]*target
	done   map[string]*resolved
}

// resolve applies inherits in order, then the target's own blocks, with
// buildx's merge rules: platforms, output and cache-to are replaced,
// cache-from entries are appended; a cycle is an error.
func (r *resolver) resolve(name string, stack []string) (*resolved, error) {
	if rt, ok := r.done[name]; ok {
		return rt, nil
	}
	t := r.byName[name]
	out := &resolved{name: name, block: t.parts[0].block.DefRange, matrix: t.matrix, fields: map[string]*setting{}}
	stack = append(stack, name)
	for _, p := range t.parts {
		attr := p.attrs["inherits"]
		for _, parent := range p.val.Inherits {
			if parent == name || slices.Contains(stack, parent) {
				cycle := append(slices.Clone(stack[slices.Index(stack, parent):]), parent)
				return nil, r.errAt(attr.Range, fmt.Sprintf("inherits cycle: %s", strings.Join(cycle, " -> ")))
			}
			if _, ok := r.byName[parent]; !ok {
				return nil, r.errAt(attr.Range, fmt.Sprintf("target %q inherits %q, which is not a target", name, parent))
			}
			pt, err := r.resolve(parent, stack)
			if err != nil {
				return nil, err
			}
			out.inherits = append(out.inherits, parent)
			for k, s := range pt.fields {
				out.merge(k, s)
			}
		}
	}
	for _, p := range t.parts {
		v := p.val
		for _, k := range []string{"context", "dockerfile", "dockerfile-inline", "target", "platforms", "output", "cache-from", "cache-to"} {
			a, ok := p.attrs[k]
			if !ok {
				continue
			}
			s := &setting{set: true, rng: a.Range}
			switch k {
			case "context":
				s.str = deref(v.Context)
			case "dockerfile":
				s.str = deref(v.Dockerfile)
			case "dockerfile-inline":
				s.str = deref(v.DockerfileInline)
			case "target":
				s.str = deref(v.Target)
			case "platforms":
				s.list = dedup(nonEmpty(v.Platforms))
			case "output":
				s.entries = place(v.Outputs, a.Range, outputDefaults)
			case "cache-from":
				s.entries = place(v.CacheFrom, a.Range, cacheDefaults)
			case "cache-to":
				s.entries = place(v.CacheTo, a.Range, cacheDefaults)
			}
			out.merge(k, s)
		}
	}
	r.done[name] = out
	return out, nil
}

// merge applies one setting over what out has, by buildx's rules.
func (out *resolved) merge(k string, s *setting) {
	prev, ok := out.fields[k]
	if k == "cache-from" && ok {
		merged := &setting{set: true, rng: s.rng, entries: slices.Clone(prev.entries)}
		for _, e := range s.entries {
			if !slices.ContainsFunc(merged.entries, func(x placedEntry) bool { return x.raw == e.raw }) {
				merged.entries = append(merged.entries, e)
			}
		}
		out.fields[k] = merged
		return
	}
	out.fields[k] = s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// outputDefaults applies buildx's shorthands to an output: `-` is a tar
// stream, a bare path a local directory, and `registry` an image pushed.
func outputDefaults(e *entry) {
	if v, ok := e.attrs[""]; ok {
		delete(e.attrs, "")
		if v == "-" {
			e.typ = "tar"
		} else {
			e.typ = "local"
			e.attrs["dest"] = v
		}
	}
}

// cacheDefaults applies buildx's shorthand to a cache entry: a bare value
// is a registry reference.
func cacheDefaults(e *entry) {
	if v, ok := e.attrs[""]; ok {
		delete(e.attrs, "")
		e.typ = "registry"
		e.attrs["ref"] = v
	}
}

func place(l *entryList, rng hcl.Range, defaults func(*entry)) []placedEntry {
	if l == nil {
		return nil
	}
	out := make([]placedEntry, 0, len(l.entries))
	for _, e := range l.entries {
		c := entry{raw: e.raw, typ: e.typ, attrs: make(map[string]string, len(e.attrs))}
		for k, v := range e.attrs {
			c.attrs[k] = v
		}
		defaults(&c)
		out = append(out, placedEntry{entry: c, rng: rng})
	}
	return out
}

// value is the target as policies see it (engine/document/schemas/bake.json).
func (rt *resolved) value(built bool) map[string]any {
	m := map[string]any{
		"name":     rt.name,
		"built":    built,
		"location": location(rt.block).Value(),
		"path":     rt.block.Filename,
		"inherits": strSlice(rt.inherits),
	}
	if len(rt.matrix) > 0 {
		mm := map[string]any{}
		for k, v := range rt.matrix {
			mm[k] = v
		}
		m["matrix"] = mm
	}
	str := func(k, key, def string) {
		s, ok := rt.fields[k]
		switch {
		case ok:
			m[key] = map[string]any{"value": s.str, "default": false, "location": location(s.rng).Value(), "path": s.rng.Filename}
		case def != "":
			m[key] = map[string]any{"value": def, "default": true, "location": location(rt.block).Value(), "path": rt.block.Filename}
		}
	}
	// buildx's target defaults: context ".", dockerfile "Dockerfile".
	str("context", "context", ".")
	str("dockerfile", "dockerfile", "Dockerfile")
	if s, ok := rt.fields["dockerfile"]; ok && s.str == "" {
		m["dockerfile"] = map[string]any{"value": "Dockerfile", "default": true, "location": location(s.rng).Value(), "path": s.rng.Filename}
	}
	str("dockerfile-inline", "dockerfile_inline", "")
	str("target", "target", "")
	if s, ok := rt.fields["platforms"]; ok {
		m["platforms"] = map[string]any{"values": strSlice(s.list), "location": location(s.rng).Value(), "path": s.rng.Filename}
	}
	for k, key := range map[string]string{"output": "outputs", "cache-from": "cache_from", "cache-to": "cache_to"} {
		s, ok := rt.fields[k]
		if !ok {
			continue
		}
		entries := make([]any, 0, len(s.entries))
		for _, e := range s.entries {
			attrs := map[string]any{}
			keys := make([]string, 0, len(e.attrs))
			for ak := range e.attrs {
				keys = append(keys, ak)
			}
			sort.Strings(keys)
			for _, ak := range keys {
				attrs[ak] = e.attrs[ak]
			}
			entries = append(entries, map[string]any{"raw": e.raw, "type": e.typ, "attrs": attrs, "location": location(e.rng).Value(), "path": e.rng.Filename})
		}
		m[key] = map[string]any{"entries": entries, "location": location(s.rng).Value(), "path": s.rng.Filename}
	}
	return m
}
