package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devflow/dwf-policy/engine/bundle"
	"github.com/devflow/dwf-policy/policies"
)

// TestBaselineBundle builds the baseline bundle the way `make bundles` does
// and checks that its modules are the embedded policies, byte for byte.
func TestBaselineBundle(t *testing.T) {
	root := repoRoot(t)
	out := filepath.Join(t.TempDir(), "baseline.tar.gz")
	_, stderr, code := run(t, root, "bundle", "build", "--builtin", "--revision", "v9.9.9", "bundles/baseline", "-o", out)
	if code != ExitOK {
		t.Fatalf("bundle build: exit %d: %s", code, stderr)
	}
	b, err := bundle.ReadFile(out, bundle.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Revision != "v9.9.9" || strings.Join(b.Roots, ",") != "dwf" {
		t.Errorf("manifest: revision %q, roots %v", b.Revision, b.Roots)
	}
	embedded := regoFiles(t, policies.FS)
	bundled := regoFiles(t, b.FS)
	for name, src := range embedded {
		if got, ok := bundled[name]; !ok {
			t.Errorf("%s is embedded but not in the bundle", name)
		} else if !bytes.Equal(got, src) {
			t.Errorf("%s differs between the bundle and the binary", name)
		}
	}
	for name := range bundled {
		if _, ok := embedded[name]; !ok {
			t.Errorf("%s is in the bundle but not embedded", name)
		}
	}
	if len(embedded) == 0 {
		t.Fatal("no embedded policies")
	}
}

func regoFiles(t *testing.T, fsys fs.FS) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		out[p], err = fs.ReadFile(fsys, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBundles builds, signs and loads a custom policy bundle through the
// CLI, and checks that --verification-key refuses tampered and unsigned
// bundles. Keys are generated here; none is committed.
func TestBundles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"acme/always.rego":      customRule("dwf.dockerfile.always", "ACME1", `deny contains {"msg": "from the bundle"} if true`),
		"acme/always_test.rego": "package dwf.dockerfile.always_test\n\nimport data.dwf.dockerfile.always\n\ntest_fires if count(always.deny) == 1\n",
		"acme/.manifest":        `{"revision": "from-manifest", "roots": ["dwf/dockerfile"]}`,
		"Dockerfile":            goodDockerfile,
	})
	rsaPriv, rsaPub := pemKeys(t, "rsa")
	ecPriv, ecPub := pemKeys(t, "ec")
	writeTree(t, dir, map[string]string{"rsa.pem": rsaPriv, "rsa.pub": rsaPub, "ec.pem": ecPriv, "ec.pub": ecPub})

	build := func(args ...string) {
		t.Helper()
		_, stderr, code := run(t, dir, append([]string{"bundle", "build", "acme"}, args...)...)
		if code != ExitOK {
			t.Fatalf("bundle build %v: exit %d: %s", args, code, stderr)
		}
	}
	build("-o", "unsigned.tar.gz")
	build("-o", "rsa.tar.gz", "--signing-key", "rsa.pem")
	build("-o", "ec.tar.gz", "--signing-key", "ec.pem", "--signing-alg", "ES256")
	tamper(t, filepath.Join(dir, "ec.tar.gz"), filepath.Join(dir, "tampered.tar.gz"))

	const fired = "Dockerfile:1:1: warning ACME1 from the bundle\n"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"unsigned bundle without a key", []string{"check", "--policy", "unsigned.tar.gz", "Dockerfile"}, ExitOK, fired, ""},
		{"RS256 bundle verified", []string{"check", "--policy", "rsa.tar.gz", "--verification-key", "rsa.pub", "Dockerfile"}, ExitOK, fired, ""},
		{"ES256 bundle verified", []string{"check", "--policy", "ec.tar.gz", "--verification-key", "ec.pub", "Dockerfile"}, ExitOK, fired, ""},
		{"rules from a verified bundle", []string{"rules", "--policy", "ec.tar.gz", "--verification-key", "ec.pub"}, ExitOK, "ACME1", ""},
		{"tests inside a bundle", []string{"test", "rsa.tar.gz"}, ExitOK, "1 passed, 0 failed\n", ""},
		{"tampered bundle refused", []string{"check", "--policy", "tampered.tar.gz", "--verification-key", "ec.pub", "Dockerfile"}, ExitError, "",
			"dwf-policy: --policy tampered.tar.gz: reading bundle: verifying the bundle signature: always.rego: digest mismatch"},
		{"unsigned bundle refused with a key", []string{"check", "--policy", "unsigned.tar.gz", "--verification-key", "ec.pub", "Dockerfile"}, ExitError, "",
			"dwf-policy: --policy unsigned.tar.gz: the bundle is not signed, and --verification-key accepts only signed bundles\n"},
		{"bundle signed with another key refused", []string{"check", "--policy", "rsa.tar.gz", "--verification-key", "ec.pub", "Dockerfile"}, ExitError, "",
			"dwf-policy: --policy rsa.tar.gz: reading bundle: verifying the bundle signature: failed to verify JWT signature"},
		{"missing verification key", []string{"check", "--policy", "rsa.tar.gz", "--verification-key", "nope.pub", "Dockerfile"}, ExitError, "",
			"dwf-policy: --verification-key nope.pub: no such file or directory\n"},
		{"not a bundle", []string{"check", "--policy", "Dockerfile", "Dockerfile"}, ExitError, "",
			"dwf-policy: --policy Dockerfile: reading bundle: not a bundle (.tar.gz)"},
		{"build needs -o", []string{"bundle", "build", "acme"}, ExitError, "", "--output FILE is required"},
		{"a directory under a verification key", []string{"check", "--policy", "acme", "--verification-key", "ec.pub", "Dockerfile"}, ExitError, "",
			"dwf-policy: --policy acme: a directory of .rego files is not signed: only signed bundles may run under --verification-key"},
		{"a verification key without a bundle", []string{"check", "--verification-key", "ec.pub", "Dockerfile"}, ExitError, "",
			"dwf-policy: --verification-key verifies policy bundles, and none is given: add --policy FILE.tar.gz"},
		{"build says what it wrote, signed", []string{"bundle", "build", "acme", "-o", "said.tar.gz", "--signing-key", "ec.pem"}, ExitOK,
			"wrote said.tar.gz: revision from-manifest, sha256:", ""},
		{"build says what it wrote, unsigned", []string{"bundle", "build", "acme", "-o", "said.tar.gz", "--revision", "r7"}, ExitOK,
			" bytes, not signed\n", ""},
		{"build refuses another algorithm", []string{"bundle", "build", "acme", "-o", "x.tar.gz", "--signing-key", "rsa.pem", "--signing-alg", "HS256"}, ExitError, "",
			`--signing-alg: unsupported algorithm "HS256" (want RS256 or ES256)`},
		{"build checks the algorithm fits the key", []string{"bundle", "build", "acme", "-o", "x.tar.gz", "--signing-key", "rsa.pem", "--signing-alg", "ES256"}, ExitError, "",
			"--signing-alg ES256 does not fit the key, which is for RS256"},
		{"build --builtin wants a definition directory", []string{"bundle", "build", "--builtin", "acme", "-o", "x.tar.gz"}, ExitError, "",
			"acme holds .rego files (always.rego, always_test.rego)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := run(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, stderr)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar.gz")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed build left its output behind: %v", err)
	}
}

// pemKeys returns a fresh PEM private key and its public key.
func pemKeys(t *testing.T, kind string) (private, public string) {
	t.Helper()
	var priv, pub any
	if kind == "rsa" {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
}

// tamper copies a bundle, changing one policy after it was signed.
func tamper(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gr)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, "always.rego") {
			body = bytes.Replace(body, []byte("from the bundle"), []byte("from an attacker"), 1)
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
