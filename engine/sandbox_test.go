package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// secretFile writes a JSON schema holding a secret outside any policy
// directory, as a host file a policy must never read.
func secretFile(t *testing.T) (path, secret string) {
	t.Helper()
	secret = "SECRET-7f3a9c"
	path = filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`{"type": "string", "enum": [%q]}`, secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, secret
}

// compileOrEval compiles module with the engine's compiler and the given
// capabilities (nil: the sandbox); when it compiles, it evaluates
// data.dwf.sandbox and returns what the evaluation gave, so a leak shows.
func compileOrEval(t *testing.T, caps *ast.Capabilities, module string) (evaluated string, compileErr error) {
	t.Helper()
	c, err := NewCompiler(caps)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ast.ParseModuleWithOpts("p/a.rego", module, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	if c.Compile(map[string]*ast.Module{"p/a.rego": parsed}); c.Failed() {
		return "", c.Errors
	}
	rs, err := rego.New(rego.Compiler(c), rego.Query("data.dwf.sandbox")).Eval(context.Background())
	return fmt.Sprint(rs, err), nil
}

// TestSandboxReadsNoHostFile: json.verify_schema and json.match_schema
// resolve a schema's "$ref": "file:///..." by reading the host file (its
// existence, its content through validation errors, and /dev/zero until
// memory runs out), so the engine refuses them at compile time: in the
// sandbox and with --allow-net alike, which allows the network, not files.
func TestSandboxReadsNoHostFile(t *testing.T) {
	secretPath, secret := secretFile(t)
	ref := "file://" + filepath.ToSlash(secretPath)
	tests := []struct {
		name, builtin, body string
	}{
		{"match_schema with a file $ref", "json.match_schema",
			fmt.Sprintf(`r := json.match_schema("x", {"$ref": %q})`, ref)},
		{"verify_schema with a file $ref", "json.verify_schema",
			fmt.Sprintf(`r := json.verify_schema({"$ref": %q})`, ref)},
		{"match_schema of etc-passwd", "json.match_schema",
			`r := json.match_schema("x", {"$ref": "file:///etc/passwd"})`},
		{"verify_schema of dev-zero", "json.verify_schema",
			`r := json.verify_schema({"$ref": "file:///dev/zero"})`},
	}
	for _, caps := range []struct {
		name string
		caps *ast.Capabilities
	}{{"sandbox", nil}, {"allow-net", ast.CapabilitiesForThisVersion()}} {
		for _, tc := range tests {
			t.Run(caps.name+"/"+tc.name, func(t *testing.T) {
				evaluated, err := compileOrEval(t, caps.caps, "package dwf.sandbox\n\n"+tc.body+"\n")
				if err == nil {
					t.Fatalf("compiled a policy calling %s; evaluation gave %s", tc.builtin, evaluated)
				}
				if !strings.Contains(err.Error(), "undefined function "+tc.builtin) {
					t.Errorf("error does not name %s: %v", tc.builtin, err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error discloses the file: %v", err)
				}
			})
		}
	}
}

// TestSandboxSchemaAnnotationsReadNoHostFile: a schema written inline in a
// policy's METADATA is compiled by the type checker, which resolves its
// references the same way: a reference that leaves the schema (a file, a
// base URI that is one, or a URL) is refused before the type checker runs,
// in the sandbox and with --allow-net.
func TestSandboxSchemaAnnotationsReadNoHostFile(t *testing.T) {
	secretPath, secret := secretFile(t)
	ref := "file://" + filepath.ToSlash(secretPath)
	module := func(schema string) string {
		return fmt.Sprintf(`# METADATA
# schemas:
#   - input: %s
package dwf.sandbox

r := input.x
`, schema)
	}
	refused := []struct{ name, schema string }{
		{"file $ref", fmt.Sprintf(`{"$ref": %q}`, ref)},
		{"nested file $ref", fmt.Sprintf(`{"type": "object", "properties": {"x": {"$ref": %q}}}`, ref)},
		{"relative $ref against a file $id", fmt.Sprintf(`{"$id": %q, "properties": {"x": {"$ref": %q}}}`, "file://"+filepath.ToSlash(filepath.Dir(secretPath))+"/", "secret.json")},
		{"file $schema", fmt.Sprintf(`{"$schema": %q, "type": "object"}`, ref)},
		{"dev-zero", `{"$ref": "file:///dev/zero"}`},
		{"http $ref", `{"$ref": "http://169.254.169.254/latest/meta-data"}`},
	}
	for _, caps := range []struct {
		name string
		caps *ast.Capabilities
	}{{"sandbox", nil}, {"allow-net", ast.CapabilitiesForThisVersion()}} {
		for _, tc := range refused {
			t.Run(caps.name+"/"+tc.name, func(t *testing.T) {
				evaluated, err := compileOrEval(t, caps.caps, module(tc.schema))
				if err == nil {
					t.Fatalf("compiled a schema annotation %s; evaluation gave %s", tc.schema, evaluated)
				}
				if !strings.Contains(err.Error(), "outside the schema") {
					t.Errorf("error does not say why: %v", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error discloses the file: %v", err)
				}
			})
		}
	}
	// References inside the schema itself still work.
	local := `{"type": "object", "definitions": {"s": {"type": "string"}}, "properties": {"x": {"$ref": "#/definitions/s"}}}`
	if _, err := compileOrEval(t, nil, module(local)); err != nil {
		t.Errorf("a schema with a local $ref must compile: %v", err)
	}
}
