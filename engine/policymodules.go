package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/internal/astcodec"
)

// ModulesFile is the file, beside CatalogueFile, that holds every built-in
// module already compiled: parsed, and rewritten by the compiler stages a
// check runs, all built-ins compiled together (astcodec's encoding). A
// check of built-in policies decodes the modules it needs and compiles
// them with the rewriting stages skipped (precompiledStages): a third of
// the time of parsing and compiling their Rego, which a pre-commit hook
// pays on every commit. The file is generated from the modules (go test
// ./engine -run TestBuiltinModules -update) and a test fails when it is
// stale; a kind whose modules are not all in it with their current hash is
// parsed and compiled from the Rego, as is everything when METADATA is
// needed (custom policies: the encoding has none).
const ModulesFile = "modules.bin"

// modulesMagic starts ModulesFile; another start means another format, and
// the file is ignored.
const modulesMagic = "dwf-policy compiled modules 1\n"

// moduleIndex is ModulesFile's table of contents: each entry's place in the
// file, read when a compile needs it (ReadAt on the embedded file: a check
// of Dockerfiles reads 6 of 60 modules).
type moduleIndex struct {
	fsys    fs.FS
	data    int64 // where the entries start
	entries map[string]moduleEntry
}

// moduleEntry is one compiled module in ModulesFile.
type moduleEntry struct {
	hash     string // contentHash of the source it was compiled from
	off, len int64  // from moduleIndex.data
}

// readModuleIndex reads ModulesFile's table of contents; nil when there is
// none or it cannot be read (every module is then parsed).
func readModuleIndex(fsys fs.FS) *moduleIndex {
	f, err := fsys.Open(ModulesFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, len(modulesMagic)+4)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:len(modulesMagic)]) != modulesMagic {
		return nil
	}
	n := binary.LittleEndian.Uint32(head[len(modulesMagic):])
	if st, err := f.Stat(); err != nil || int64(n) > st.Size() {
		return nil
	}
	toc := make([]byte, n)
	if _, err := io.ReadFull(f, toc); err != nil {
		return nil
	}
	next := func() ([]byte, bool) {
		l, w := binary.Uvarint(toc)
		if w <= 0 || l > uint64(len(toc)-w) {
			return nil, false
		}
		b := toc[w : w+int(l)]
		toc = toc[w+int(l):]
		return b, true
	}
	number := func() (int64, bool) {
		v, w := binary.Uvarint(toc)
		if w <= 0 || v > 1<<40 {
			return 0, false
		}
		toc = toc[w:]
		return int64(v), true
	}
	ix := &moduleIndex{fsys: fsys, data: int64(len(head)) + int64(n), entries: map[string]moduleEntry{}}
	for len(toc) > 0 {
		name, ok1 := next()
		hash, ok2 := next()
		off, ok3 := number()
		l, ok4 := number()
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil
		}
		ix.entries[string(name)] = moduleEntry{hash: string(hash), off: off, len: l}
	}
	return ix
}

// read returns the encodings of entries, in order.
func (ix *moduleIndex) read(entries []moduleEntry) ([][]byte, error) {
	f, err := ix.fsys.Open(ModulesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := make([][]byte, len(entries))
	ra, ok := f.(io.ReaderAt)
	if !ok {
		all, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		ra = readerAt(all)
	}
	for i, e := range entries {
		out[i] = make([]byte, e.len)
		if _, err := ra.ReadAt(out[i], ix.data+e.off); err != nil {
			return nil, fmt.Errorf("%s: %w", ModulesFile, err)
		}
	}
	return out, nil
}

// readerAt reads a byte slice at offsets.
type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(r)) {
		return 0, io.EOF
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// decodeCompiled sets the compiled module of every file that has none yet,
// from ModulesFile; files without an entry are an error.
func decodeCompiled(files []*policyFile) error {
	// Files of one source share an index: one open of ModulesFile each.
	bySource := map[*moduleIndex][]*policyFile{}
	for _, f := range files {
		if f.compiled != nil {
			continue
		}
		if f.entry == nil {
			return fmt.Errorf("%s: not in %s", f.name, ModulesFile)
		}
		bySource[f.index] = append(bySource[f.index], f)
	}
	for ix, batch := range bySource {
		entries := make([]moduleEntry, len(batch))
		for i, f := range batch {
			entries[i] = *f.entry
		}
		data, err := ix.read(entries)
		if err != nil {
			return err
		}
		for i, f := range batch {
			m, err := astcodec.Decode(data[i], f.name, f.raw)
			if err != nil {
				return fmt.Errorf("%s in %s: %w", f.name, ModulesFile, err)
			}
			f.compiled = m
		}
	}
	return nil
}

// precompiledStages are the compiler stages skipped for modules decoded
// from ModulesFile: every stage but those that build what evaluation reads
// from the compiler rather than from the modules (the module and rule
// trees, the rule and comprehension indices, the local variable generator
// for the queries). The modules were rewritten when the file was built;
// TestPrecompiledCompilesTheSame checks that the result is the compile of
// their Rego.
var precompiledStages = func() []ast.StageID {
	keep := []ast.StageID{
		ast.StageInitLocalVarGen, ast.StageSetModuleTree, ast.StageSetRuleTree,
		ast.StageSetAnnotationSet, ast.StageBuildRuleIndices, ast.StageBuildComprehensionIndices,
	}
	var skip []ast.StageID
	for _, s := range ast.AllStages() {
		if !slices.Contains(keep, s) {
			skip = append(skip, s)
		}
	}
	return skip
}()

// compilePrecompiled compiles modules decoded from ModulesFile.
func compilePrecompiled(modules map[string]*ast.Module, caps *ast.Capabilities) (*ast.Compiler, error) {
	c := newBaseCompiler(caps).WithSkipStages(precompiledStages...)
	if c.Compile(modules); c.Failed() {
		return nil, fmt.Errorf("compiling policies: %w", c.Errors)
	}
	return c, nil
}

// BuildModules compiles every module of fsys (tests excluded) as a check
// compiles built-in policies, all together, and returns ModulesFile's
// content for them.
func BuildModules(fsys fs.FS) ([]byte, error) {
	files, err := readPolicyFiles([]PolicySource{{FS: fsys, Builtin: true}}, false, true)
	if err != nil {
		return nil, err
	}
	modules := make(map[string]*ast.Module, len(files))
	for _, f := range files {
		modules[f.name] = f.module
	}
	c, err := compile(modules, nil, false)
	if err != nil {
		return nil, err
	}
	var toc, data []byte
	add := func(b []byte) {
		toc = binary.AppendUvarint(toc, uint64(len(b)))
		toc = append(toc, b...)
	}
	for _, f := range files {
		enc, err := astcodec.Encode(c.Modules[f.name], f.raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		add([]byte(f.fsPath))
		add([]byte(f.hash))
		toc = binary.AppendUvarint(toc, uint64(len(data)))
		toc = binary.AppendUvarint(toc, uint64(len(enc)))
		data = append(data, enc...)
	}
	if len(toc) > 1<<31 {
		return nil, errors.New("too many modules")
	}
	out := append([]byte(modulesMagic), binary.LittleEndian.AppendUint32(nil, uint32(len(toc)))...)
	out = append(out, toc...)
	return append(out, data...), nil
}

// parseModule parses one policy file as the engine does.
func parseModule(name string, raw []byte, annotations bool) (*ast.Module, error) {
	return ast.ParseModuleWithOpts(name, string(raw), ast.ParserOptions{
		ProcessAnnotation: annotations, RegoVersion: ast.RegoV1, Capabilities: parserCapabilities(),
	})
}
