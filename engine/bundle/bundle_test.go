package bundle

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
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const rule = `# METADATA
# title: No latest
# custom:
#   id: ACME1
#   severity: warning
#   kind: dockerfile
package dwf.dockerfile.acme_latest

deny contains {"msg": "x"} if false
`

func policyFS() fstest.MapFS {
	return fstest.MapFS{
		"dockerfile/acme_latest.rego":      {Data: []byte(rule)},
		"dockerfile/acme_latest_test.rego": {Data: []byte("package dwf.dockerfile.acme_latest_test\n\ntest_x if true\n")},
		"README.md":                        {Data: []byte("not a policy")},
	}
}

// keys returns PEM private and public keys generated for the test: no key
// is ever committed.
func keys(t *testing.T, alg string) (private, public []byte) {
	t.Helper()
	var priv, pub any
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	case "ES384":
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
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
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
}

func build(t *testing.T, fsys fs.FS, opts BuildOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Build(&buf, fsys, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := build(t, policyFS(), BuildOptions{Manifest: []byte(`{"revision": "r1", "roots": ["dwf/dockerfile"]}`), Revision: "r2"})
	b, err := Read(data, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Revision != "r2" || b.Signed || !cmp.Equal(b.Roots, []string{"dwf/dockerfile"}) {
		t.Errorf("bundle = %+v", b)
	}
	got, err := fs.ReadFile(b.FS, "dockerfile/acme_latest.rego")
	if err != nil || string(got) != rule {
		t.Errorf("module = %q, %v; want the source byte for byte", got, err)
	}
	if _, err := fs.Stat(b.FS, "README.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("non-policy files must stay out of the bundle: %v", err)
	}
	if err := fstest.TestFS(b.FS, "dockerfile/acme_latest.rego", "dockerfile/acme_latest_test.rego"); err != nil {
		t.Error(err)
	}
}

func TestSignedBundles(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			priv, pub := keys(t, alg)
			signed := build(t, policyFS(), BuildOptions{SigningKey: priv, SigningAlg: alg})
			b, err := Read(signed, ReadOptions{VerificationKey: pub})
			if err != nil {
				t.Fatalf("verifying a good bundle: %v", err)
			}
			if !b.Signed {
				t.Error("Signed = false")
			}
			// Without a key the signature is not checked, but the bundle loads.
			if _, err := Read(signed, ReadOptions{}); err != nil {
				t.Errorf("reading without a key: %v", err)
			}

			_, otherPub := keys(t, alg)
			tests := []struct {
				name string
				data []byte
				key  []byte
				want string
			}{
				{"tampered module", rewrite(t, signed, "/dockerfile/acme_latest.rego", func(b []byte) []byte {
					return bytes.Replace(b, []byte("if false"), []byte("if true"), 1)
				}), pub, "verifying the bundle signature: dockerfile/acme_latest.rego: digest mismatch"},
				{"tampered manifest", rewrite(t, signed, "/.manifest", func([]byte) []byte {
					return []byte(`{"revision":"evil","roots":["dwf"],"rego_version":1}`)
				}), pub, "verifying the bundle signature: .manifest: digest mismatch"},
				{"added module", addFile(t, signed, "/dockerfile/extra.rego", []byte("package dwf.dockerfile.extra\n")), pub,
					"file dockerfile/extra.rego not included in bundle signature"},
				{"another key", signed, otherPub, "verifying the bundle signature: failed to verify JWT signature"},
				{"unsigned", build(t, policyFS(), BuildOptions{}), pub, ErrUnsigned.Error()},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					_, err := Read(tc.data, ReadOptions{VerificationKey: tc.key})
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("err = %v, want it to contain %q", err, tc.want)
					}
				})
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	rsaKey, _ := keys(t, "RS256")
	ecKey, _ := keys(t, "ES256")
	p384, _ := keys(t, "ES384")
	tests := []struct {
		name string
		fsys fstest.MapFS
		opts BuildOptions
		want string
	}{
		{"no policies", fstest.MapFS{"a.md": {}}, BuildOptions{}, "no .rego files found"},
		{"data file", fstest.MapFS{"a.rego": {Data: []byte(rule)}, "x/data.json": {Data: []byte("{}")}}, BuildOptions{}, "x/data.json: data files are not supported"},
		{"outside roots", fstest.MapFS{"a.rego": {Data: []byte("package acme.x\n")}}, BuildOptions{}, "a.rego:1: package acme.x is outside the bundle roots [dwf]"},
		{"syntax error", fstest.MapFS{"a.rego": {Data: []byte("package dwf.x\n\ndeny contains x if {\n")}}, BuildOptions{}, "a.rego:4: rego_parse_error"},
		{"bad manifest", fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{Manifest: []byte(`{"root": ["dwf"]}`)}, `reading .manifest: json: unknown field "root"`},
		{"rego v0", fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{Manifest: []byte(`{"rego_version": 0}`)}, "dwf-policy policies are Rego v1"},
		{"alg does not fit key", fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{SigningKey: rsaKey, SigningAlg: "ES256"}, "--signing-alg ES256 does not fit the key, which is for RS256"},
		{"unsupported alg", fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{SigningKey: ecKey, SigningAlg: "HS256"}, `unsupported signing algorithm "HS256"`},
		{"P-384 key", fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{SigningKey: p384}, "ES256 needs P-256"},
		{"not a key", fstest.MapFS{"a.rego": {Data: []byte(rule)}}, BuildOptions{SigningKey: []byte("secret")}, "not a PEM private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Build(io.Discard, tc.fsys, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "/big.rego", Mode: 0o600, Size: maxExpandedBytes + 1, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeros{}, maxExpandedBytes+1); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	gz.Close()

	withData := addFile(t, build(t, policyFS(), BuildOptions{}), "/dwf/acme/data.json", []byte(`{"x": 1}`))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("hello"), "not a bundle (.tar.gz)"},
		{"gzip bomb", bomb.Bytes(), "the bundle expands to more than"},
		{"data", withData, "data files are not supported"},
		{"long name with a backslash", addFile(t, build(t, policyFS(), BuildOptions{}), strings.Repeat("d", 300)+`\x.rego`, []byte("package dwf.acme.x\n")), `bundle entry "` + strings.Repeat("d", 200) + `"…: names use / between directories`},
		{"backslash in a name", addFile(t, build(t, policyFS(), BuildOptions{}), `dwf\acme\x.rego`, []byte("package dwf.acme.x\n")), `bundle entry "dwf\\acme\\x.rego": names use / between directories`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.data, ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("file too large", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "big.tar.gz")
		if err := os.WriteFile(file, make([]byte, MaxBytes+1), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFile(file, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad verification key", func(t *testing.T) {
		priv, _ := keys(t, "RS256")
		signed := build(t, policyFS(), BuildOptions{SigningKey: priv})
		if _, err := Read(signed, ReadOptions{VerificationKey: priv}); err == nil || !strings.Contains(err.Error(), "is not a public key") {
			t.Fatalf("a private key as verification key: err = %v", err)
		}
	})
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// rewrite returns the bundle with one file's content changed.
func rewrite(t *testing.T, data []byte, name string, change func([]byte) []byte) []byte {
	t.Helper()
	return transform(t, data, func(tw *tar.Writer, h *tar.Header, body []byte) {
		if h.Name == name {
			body = change(body)
			h.Size = int64(len(body))
		}
		write(t, tw, h, body)
	}, nil)
}

// addFile returns the bundle with one more file.
func addFile(t *testing.T, data []byte, name string, body []byte) []byte {
	t.Helper()
	return transform(t, data, func(tw *tar.Writer, h *tar.Header, b []byte) { write(t, tw, h, b) }, func(tw *tar.Writer) {
		write(t, tw, &tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg}, body)
	})
}

func transform(t *testing.T, data []byte, each func(*tar.Writer, *tar.Header, []byte), after func(*tar.Writer)) []byte {
	t.Helper()
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
		each(tw, h, body)
	}
	if after != nil {
		after(tw)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func write(t *testing.T, tw *tar.Writer, h *tar.Header, body []byte) {
	t.Helper()
	if err := tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
}
