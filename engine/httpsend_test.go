package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestHTTPSendReadsNoHostFile: with --allow-net (all capabilities), a
// request naming a certificate file, an environment variable or a unix://
// socket is refused and the evaluation fails saying why.
func TestHTTPSendReadsNoHostFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(secret, []byte("SECRET-PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, req := range []string{
		`{"method": "GET", "url": "https://127.0.0.1:1", "tls_ca_cert_file": "` + secret + `"}`,
		`{"method": "GET", "url": "https://127.0.0.1:1", "tls_client_key_env_variable": "HOME"}`,
		`{"method": "GET", "url": "unix://localhost/x?socket=%2Fvar%2Frun%2Fdocker.sock"}`,
	} {
		fsys := fstest.MapFS{"a.rego": &fstest.MapFile{Data: []byte(rule("dwf.dockerfile.a", "ACME1",
			`deny contains {"msg": sprintf("%v", [http.send(`+req+`)])} if true`))}}
		eng, err := New(context.Background(), Options{Policies: []PolicySource{{Name: "p", FS: fsys}}, Capabilities: ast.CapabilitiesForThisVersion()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = eng.EvaluateOne(context.Background(), dockerDoc("Dockerfile", 1))
		if err == nil || !strings.Contains(err.Error(), "policies may use only the network") || strings.Contains(err.Error(), "SECRET-PEM") {
			t.Errorf("%s: err = %v", req, err)
		}
	}
}
