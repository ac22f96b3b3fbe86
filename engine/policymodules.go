package engine

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine/internal/astcodec"
)

// ModulesFile is the file, beside CatalogueFile, that holds every built-in
// module already parsed (in astcodec's encoding), so that a check decodes
// the modules it compiles instead of parsing their Rego: a fifth of the
// time, and a third of the memory. It is generated from the modules (go
// test ./engine -run TestBuiltinModules -update) and a test fails when it is
// stale; an entry whose hash does not match its file is ignored and the
// file parsed, as is every file when METADATA is needed (the encoding has
// none).
const ModulesFile = "modules.bin"

// modulesMagic starts ModulesFile; another start means another format, and
// the file is ignored.
const modulesMagic = "dwf-policy modules 1\n"

// encodedModule is one entry of ModulesFile.
type encodedModule struct {
	hash string // contentHash of the source it was parsed from
	data []byte
}

// readModules reads ModulesFile by module path; nil when there is none or it
// cannot be read (every module is then parsed).
func readModules(fsys fs.FS) map[string]encodedModule {
	raw, err := fs.ReadFile(fsys, ModulesFile)
	if err != nil || !strings.HasPrefix(string(raw), modulesMagic) {
		return nil
	}
	raw = raw[len(modulesMagic):]
	next := func() ([]byte, bool) {
		n, w := binary.Uvarint(raw)
		if w <= 0 || n > uint64(len(raw)-w) {
			return nil, false
		}
		b := raw[w : w+int(n)]
		raw = raw[w+int(n):]
		return b, true
	}
	out := map[string]encodedModule{}
	for len(raw) > 0 {
		name, ok1 := next()
		hash, ok2 := next()
		data, ok3 := next()
		if !ok1 || !ok2 || !ok3 {
			return nil
		}
		out[string(name)] = encodedModule{hash: string(hash), data: data}
	}
	return out
}

// BuildModules parses every module of fsys (tests excluded) as a check
// does, without METADATA, and returns ModulesFile's content for them.
func BuildModules(fsys fs.FS) ([]byte, error) {
	out := []byte(modulesMagic)
	add := func(b []byte) {
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" || strings.HasSuffix(p, "_test.rego") {
			return err
		}
		raw, err := readPolicyFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := parseModule(p, raw, false)
		if err != nil {
			return err
		}
		data, err := astcodec.Encode(m, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		add([]byte(p))
		add([]byte(contentHash(raw)))
		add(data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseModule parses one policy file as the engine does.
func parseModule(name string, raw []byte, annotations bool) (*ast.Module, error) {
	return ast.ParseModuleWithOpts(name, string(raw), ast.ParserOptions{
		ProcessAnnotation: annotations, RegoVersion: ast.RegoV1, Capabilities: parserCapabilities(),
	})
}
