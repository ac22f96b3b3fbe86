package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	jsoniter "github.com/json-iterator/go"
	"github.com/open-policy-agent/opa/v1/ast"
)

// CatalogueFile is the file, at the root of the built-in policies' file
// system, that holds the package and METADATA of every built-in module, so
// that the rule catalogue is read without parsing the modules a run does
// not compile. It is generated from the modules (go test ./engine -run
// TestBuiltinCatalogue -update) and a test fails when it is stale; an entry
// whose hash does not match its file is ignored and the file parsed.
const CatalogueFile = "catalogue.json"

// policyFile is one .rego file of the policy set.
type policyFile struct {
	name   string // the source's name joined with the path: policies/dockerfile/x.rego
	fsPath string // the path in its source's file system: dockerfile/x.rego
	raw    []byte
	hash   string // contentHash(raw)
	header moduleHeader
	// module is the parsed file; nil until a compile needs it (built-in
	// files described by the catalogue).
	module *ast.Module
	// compiled is the file's module as compiled with the other built-ins,
	// decoded from ModulesFile (entry, in index) when a compile needs it
	// and no METADATA; entry is nil when the file has none for this content.
	compiled *ast.Module
	entry    *moduleEntry
	index    *moduleIndex
}

// moduleHeader is what the catalogue needs of a module: its package and
// the package's METADATA, and what a compile needs to know before parsing
// it: the packages it refers to.
type moduleHeader struct {
	path    []string // package path below data: ["dwf", "dockerfile", "x"]
	row     int      // the package statement's line
	hasDeny bool
	ann     *ast.Annotations // package-scope METADATA; nil when there is none
	refs    [][]string       // dataRefs of the module, sorted, without repeats
}

// pkg is the package as Rego names it: data.dwf.dockerfile.x.
func (h moduleHeader) pkg() string {
	ref := ast.Ref{ast.DefaultRootDocument}
	for _, s := range h.path {
		ref = append(ref, ast.StringTerm(s))
	}
	return ref.String()
}

// headerOf reads the header of a parsed module.
func headerOf(m *ast.Module) moduleHeader {
	h := moduleHeader{row: m.Package.Location.Row}
	for _, t := range m.Package.Path[1:] {
		s, _ := t.Value.(ast.String)
		h.path = append(h.path, string(s))
	}
	for _, r := range m.Rules {
		if r.Head.Name.String() == "deny" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].String() == "deny") {
			h.hasDeny = true
		}
	}
	for _, a := range m.Annotations {
		if a.Scope == "package" {
			h.ann = a
		}
	}
	h.refs = dataRefs(m)
	slices.SortFunc(h.refs, slices.Compare)
	h.refs = slices.CompactFunc(h.refs, slices.Equal)
	return h
}

// readPolicyFiles reads every .rego file of the sources (test files only
// when withTests is set). Files of built-in sources described by their
// catalogue are not parsed unless parseAll is set; every other file is.
func readPolicyFiles(sources []PolicySource, withTests, parseAll bool) ([]*policyFile, error) {
	var files []*policyFile
	var errs []error
	for _, src := range sources {
		// The catalogue and the encoded modules are read while the files
		// are.
		type prepared struct {
			catalogue map[string]catalogueEntry
			modules   *moduleIndex
		}
		var cat chan prepared
		if src.Builtin && !parseAll {
			cat = make(chan prepared, 1)
			go func() { cat <- prepared{readCatalogue(src.FS), readModuleIndex(src.FS)} }()
		}
		first := len(files)
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || path.Ext(p) != ".rego" {
				return nil
			}
			if !withTests && strings.HasSuffix(p, "_test.rego") {
				return nil
			}
			name := path.Join(src.Name, p)
			raw, err := readPolicyFile(src.FS, p)
			if err != nil {
				// One unreadable file is reported; the others are still read.
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return nil
			}
			files = append(files, &policyFile{name: name, raw: raw, hash: contentHash(raw), fsPath: p})
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("reading policies from %s: %w", src.Name, err))
		}
		if cat != nil {
			p := <-cat
			for _, f := range files[first:] {
				if e, ok := p.catalogue[f.fsPath]; ok && e.Hash == f.hash {
					f.header = e.header()
				}
				if p.modules == nil {
					continue
				}
				if m, ok := p.modules.entries[f.fsPath]; ok && m.hash == f.hash {
					f.entry, f.index = &m, p.modules
				}
			}
		}
	}
	var unparsed []*policyFile
	for _, f := range files {
		if f.header.path == nil {
			unparsed = append(unparsed, f)
		}
	}
	if err := parseFiles(unparsed, true); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("parsing policies: %w", errors.Join(errs...))
	}
	return files, nil
}

// parseFiles parses files, spread over the cores, and sets their module
// and, unless the catalogue gave it, their header. Without annotations,
// METADATA comments are left unparsed (their YAML is a fifth of parsing): a
// built-in file's catalogue entry already holds what the catalogue needs,
// and only type-checking against schemas reads them from the module.
func parseFiles(files []*policyFile, annotations bool) error {
	// The largest first, so that the cores finish together; errors stay in
	// the files' order.
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(files[b].raw) - len(files[a].raw) })
	errs := make([]error, len(files))
	var next atomic.Int64
	work := func() {
		for n := int(next.Add(1)) - 1; n < len(order); n = int(next.Add(1)) - 1 {
			i := order[n]
			f := files[i]
			m, err := parseModule(f.name, f.raw, annotations)
			if err != nil {
				errs[i] = shortenExcerpts(err)
				continue
			}
			f.module = m
			if f.header.path == nil {
				f.header = headerOf(m)
			}
		}
	}
	// The calling goroutine parses too, rather than wait for the others.
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return errors.Join(errs...)
}

// parserCapabilities are the capabilities OPA's parser assumes when given
// none (it reads their keywords and features), made once: the parser would
// otherwise build and sort the list of every builtin for each module.
var parserCapabilities = sync.OnceValue(func() *ast.Capabilities {
	return ast.CapabilitiesForThisVersion(ast.CapabilitiesRegoVersion(ast.RegoV1))
})

// closure returns the files to compile for the kinds: every package under
// data.dwf.<kind> and every package they refer to (imports and data
// references, data.dwf.lib.* above all), transitively. When all of them
// are in ModulesFile and annotations are not needed, it decodes their
// compiled modules and says so (precompiled: compile them with
// compilePrecompiled); otherwise it parses those not parsed yet (with
// their METADATA when annotations is set) all at once: the references are
// in each file's header (from the catalogue for a built-in file), so the
// files a rule imports are not waited for. All the files of a package go
// together.
func closure(files []*policyFile, kinds []string, annotations bool) (out []*policyFile, precompiled bool, err error) {
	var pending [][]string
	for _, k := range kinds {
		pending = append(pending, []string{"dwf", k})
	}
	included := make([]bool, len(files))
	for len(pending) > 0 {
		ref := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		for i, f := range files {
			if !included[i] && (hasPrefix(f.header.path, ref) || hasPrefix(ref, f.header.path)) {
				included[i] = true
				out = append(out, f)
				pending = append(pending, f.header.refs...)
			}
		}
	}
	if !annotations && !slices.ContainsFunc(out, func(f *policyFile) bool { return f.entry == nil }) {
		// A corrupt entry (the tests keep the file sound) falls back to
		// the Rego.
		if decodeCompiled(out) == nil {
			return out, true, nil
		}
	}
	var unparsed []*policyFile
	for _, f := range out {
		if f.module == nil {
			unparsed = append(unparsed, f)
		}
	}
	if err := parseFiles(unparsed, annotations); err != nil {
		return nil, false, fmt.Errorf("parsing policies: %w", err)
	}
	return out, false, nil
}

// moduleFor is the module of f to compile: its compiled module when the
// closure is precompiled, its parsed one otherwise.
func moduleFor(f *policyFile, precompiled bool) *ast.Module {
	if precompiled {
		return f.compiled
	}
	return f.module
}

// dataRefs returns the ground prefixes, below data, of every reference a
// module makes to data (imports included): data.dwf.lib.dockerfile.x gives
// [dwf lib dockerfile x]; data.dwf[k] gives [dwf]; data[k] gives [], which
// reaches every package.
func dataRefs(m *ast.Module) [][]string {
	var out [][]string
	add := func(ref ast.Ref) {
		if len(ref) == 0 || !ref[0].Equal(ast.DefaultRootDocument) {
			return
		}
		p := []string{}
		for _, t := range ref[1:] {
			s, ok := t.Value.(ast.String)
			if !ok {
				break
			}
			p = append(p, string(s))
		}
		out = append(out, p)
	}
	for _, imp := range m.Imports {
		if ref, ok := imp.Path.Value.(ast.Ref); ok {
			add(ref)
		}
	}
	for _, r := range m.Rules {
		ast.WalkRefs(r, func(ref ast.Ref) bool {
			add(ref)
			return false
		})
	}
	return out
}

func hasPrefix(p, prefix []string) bool {
	return len(prefix) <= len(p) && slices.Equal(p[:len(prefix)], prefix)
}

// catalogueEntry describes one built-in module in CatalogueFile.
type catalogueEntry struct {
	File       string               `json:"file"`
	Hash       string               `json:"hash"`
	Package    []string             `json:"package"`
	Row        int                  `json:"row"`
	Deny       bool                 `json:"deny,omitempty"`
	Refs       [][]string           `json:"refs,omitempty"`
	Annotation *catalogueAnnotation `json:"annotation,omitempty"`
}

type catalogueAnnotation struct {
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description,omitempty"`
	Custom      map[string]any `json:"custom,omitempty"`
}

func (e catalogueEntry) header() moduleHeader {
	h := moduleHeader{path: e.Package, row: e.Row, hasDeny: e.Deny, refs: e.Refs}
	if h.path == nil {
		h.path = []string{}
	}
	if a := e.Annotation; a != nil {
		h.ann = &ast.Annotations{Scope: "package", Title: a.Title, Description: a.Description, Custom: a.Custom}
	}
	return h
}

// readCatalogue reads CatalogueFile by module path; nil when there is none
// or it cannot be read (every module is then parsed).
func readCatalogue(fsys fs.FS) map[string]catalogueEntry {
	raw, err := fs.ReadFile(fsys, CatalogueFile)
	if err != nil {
		return nil
	}
	var c struct {
		Files []catalogueEntry `json:"files"`
	}
	// json-iterator, as encoding/json decodes but in half the time: the
	// catalogue is on the path of every run.
	if jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(raw, &c) != nil {
		return nil
	}
	out := make(map[string]catalogueEntry, len(c.Files))
	for _, e := range c.Files {
		out[e.File] = e
	}
	return out
}

// BuildCatalogue parses every module of fsys (tests excluded) and returns
// CatalogueFile's content for it.
func BuildCatalogue(fsys fs.FS) ([]byte, error) {
	files, err := readPolicyFiles([]PolicySource{{FS: fsys, Builtin: true}}, false, true)
	if err != nil {
		return nil, err
	}
	var c struct {
		Files []catalogueEntry `json:"files"`
	}
	for _, f := range files {
		e := catalogueEntry{File: f.name, Hash: f.hash, Package: f.header.path, Row: f.header.row, Deny: f.header.hasDeny, Refs: f.header.refs}
		if a := f.header.ann; a != nil {
			e.Annotation = &catalogueAnnotation{Title: a.Title, Description: a.Description, Custom: a.Custom}
		}
		c.Files = append(c.Files, e)
	}
	slices.SortFunc(c.Files, func(a, b catalogueEntry) int { return strings.Compare(a.File, b.File) })
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// contentHash tells a catalogue entry from a stale one. Every run hashes
// every built-in file, so it is CRC-32C, which the processor computes.
func contentHash(raw []byte) string {
	return strconv.FormatUint(uint64(crc32.Checksum(raw, castagnoli)), 16)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
