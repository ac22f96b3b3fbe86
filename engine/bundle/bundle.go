// Package bundle builds and reads OPA bundles of dwf-policy rules: a
// .tar.gz with a .manifest (revision, roots), data.json, the .rego files
// and, when signed, .signatures.json, as OPA's bundle format defines them.
// Signing and verification are OPA's (a JWT over the file digests, RS256 or
// ES256), so bundles interoperate with `opa build` and `opa run`.
package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	opabundle "github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/storage"
)

const (
	// MaxBytes caps a bundle file as stored (compressed).
	MaxBytes = 16 << 20
	// maxExpandedBytes caps what a bundle decompresses to, so a gzip bomb
	// is refused before OPA's reader buffers it.
	maxExpandedBytes = 64 << 20
	// maxFileBytes caps one file inside a bundle, like the engine caps a
	// .rego file.
	maxFileBytes = 4 << 20
	// maxPolicyFiles caps the .rego files of a bundle. OPA's reader parses
	// every module up front at several KB of heap each, so 60,000 tiny
	// modules exhaust a 1 GiB process; a real policy bundle holds tens to
	// a few hundred.
	maxPolicyFiles = 10_000
	// keyID names the one key dwf-policy signs and verifies with; OPA's
	// CLI uses the same default.
	keyID = "default"
	// ManifestFile is the manifest's name in a bundle and in a bundle
	// definition directory.
	ManifestFile = ".manifest"
)

// DefaultRoots are the roots of a bundle whose manifest names none: every
// dwf-policy rule lives under data.dwf.
var DefaultRoots = []string{"dwf"}

// ErrUnsigned is returned by Read when a verification key is given and the
// bundle carries no signature.
var ErrUnsigned = errors.New("the bundle is not signed")

// BuildOptions tunes Build. The zero value builds an unsigned bundle with
// roots [dwf].
type BuildOptions struct {
	// Manifest is the content of a .manifest (JSON: revision, roots,
	// metadata); nil means roots [dwf] and no revision.
	Manifest []byte
	// Revision, when set, replaces the manifest's revision.
	Revision string
	// SigningKey is a PEM private key (RSA or EC P-256); nil builds an
	// unsigned bundle.
	SigningKey []byte
	// SigningAlg is RS256 or ES256; "" picks the one the key is for.
	SigningAlg string
}

// Build writes a bundle holding every .rego file below the root of fsys
// (tests included, as `opa build` does), byte for byte, in path order.
// Data files are refused: policies read their settings from
// data.dwf.config, which comes from .dwf-policy.yaml.
func Build(w io.Writer, fsys fs.FS, opts BuildOptions) error {
	manifest, err := parseManifest(opts.Manifest)
	if err != nil {
		return err
	}
	if opts.Revision != "" {
		manifest.Revision = opts.Revision
	}
	var modules []opabundle.ModuleFile
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch base := path.Base(p); {
		case base == "data.json" || base == "data.yaml" || base == "data.yml":
			return fmt.Errorf("%s: data files are not supported in dwf-policy bundles: policies read settings from data.dwf.config (.dwf-policy.yaml)", p)
		case path.Ext(p) != ".rego":
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if len(raw) > maxFileBytes {
			return fmt.Errorf("%s: policy file larger than %d bytes", p, maxFileBytes)
		}
		parsed, err := ast.ParseModuleWithOpts(p, string(raw), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return err
		}
		if err := checkRoots(*manifest.Roots, p, parsed); err != nil {
			return err
		}
		modules = append(modules, opabundle.ModuleFile{URL: "/" + p, Path: "/" + p, RelativePath: p, Raw: raw, Parsed: parsed})
		return nil
	})
	if err != nil {
		return fmt.Errorf("building bundle: %w", err)
	}
	if len(modules) == 0 {
		return errors.New("building bundle: no .rego files found")
	}
	b := opabundle.Bundle{Manifest: manifest, Data: map[string]any{}, Modules: modules}
	if opts.SigningKey != nil {
		alg, err := signingAlg(opts.SigningKey, opts.SigningAlg)
		if err != nil {
			return fmt.Errorf("signing bundle: %w", err)
		}
		sc := opabundle.NewSigningConfig(string(opts.SigningKey), alg, "")
		if err := b.GenerateSignature(sc, keyID, false); err != nil {
			return fmt.Errorf("signing bundle: %w", err)
		}
	}
	if err := opabundle.NewWriter(w).DisableFormat(true).Write(b); err != nil {
		return fmt.Errorf("writing bundle: %w", err)
	}
	return nil
}

// parseManifest decodes a .manifest strictly and fills in the defaults.
func parseManifest(raw []byte) (opabundle.Manifest, error) {
	var m opabundle.Manifest
	if raw != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return m, fmt.Errorf("reading %s: %w", ManifestFile, err)
		}
	}
	if m.Roots == nil {
		roots := slices.Clone(DefaultRoots)
		m.Roots = &roots
	}
	if m.RegoVersion == nil {
		v1 := 1
		m.RegoVersion = &v1
	}
	if *m.RegoVersion != 1 {
		return m, fmt.Errorf("reading %s: rego_version %d: dwf-policy policies are Rego v1", ManifestFile, *m.RegoVersion)
	}
	return m, nil
}

// checkRoots refuses a module outside the manifest's roots with a clearer
// message than OPA's reader gives when the bundle is loaded.
func checkRoots(roots []string, file string, m *ast.Module) error {
	p, err := storage.NewPathForRef(m.Package.Path)
	if err == nil && slices.ContainsFunc(roots, func(root string) bool {
		return opabundle.RootPathsContain([]string{root}, strings.Join(p, "/"))
	}) {
		return nil
	}
	return fmt.Errorf("%s:%d: package %s is outside the bundle roots %v (set roots in %s)",
		file, m.Package.Location.Row, strings.TrimPrefix(m.Package.Path.String(), "data."), roots, ManifestFile)
}

// Bundle is a bundle read from a file.
type Bundle struct {
	// FS holds the bundle's .rego files by their path in the bundle.
	FS fs.FS
	// Revision is the manifest's revision.
	Revision string
	// Signed reports whether the bundle carries signatures; they were
	// verified when a key was given.
	Signed bool
	// Roots are the manifest's roots.
	Roots []string
}

// ReadOptions tunes Read. The zero value reads any bundle, signed or not,
// without checking signatures.
type ReadOptions struct {
	// VerificationKey is a PEM public key (RSA or EC P-256), or a
	// certificate. When set, only a bundle signed with the matching private
	// key, and unchanged since, is accepted.
	VerificationKey []byte
}

// ReadFile reads a bundle file, refusing one larger than MaxBytes.
func ReadFile(file string, opts ReadOptions) (*Bundle, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("the bundle is larger than %d bytes", MaxBytes)
	}
	return Read(data, opts)
}

// Read reads a bundle. With a verification key, an unsigned bundle is
// ErrUnsigned and a bundle whose signature or file digests do not verify
// is an error saying so.
func Read(data []byte, opts ReadOptions) (*Bundle, error) {
	signed, err := scan(data)
	if err != nil {
		return nil, err
	}
	r := opabundle.NewReader(bytes.NewReader(data)).
		WithSizeLimitBytes(maxFileBytes + 1).
		WithRegoVersion(ast.RegoV1)
	if opts.VerificationKey == nil {
		r = r.WithSkipBundleVerification(true)
	} else {
		if !signed {
			return nil, ErrUnsigned
		}
		alg, err := verificationAlg(opts.VerificationKey)
		if err != nil {
			return nil, fmt.Errorf("reading verification key: %w", err)
		}
		vc := opabundle.NewVerificationConfig(map[string]*opabundle.KeyConfig{
			keyID: {Key: string(opts.VerificationKey), Algorithm: alg},
		}, keyID, "", nil)
		r = r.WithBundleVerificationConfig(vc)
	}
	b, err := r.Read()
	if err != nil {
		if opts.VerificationKey != nil {
			// Tell a signature that does not verify from a broken bundle.
			if _, plainErr := Read(data, ReadOptions{}); plainErr == nil {
				return nil, fmt.Errorf("verifying the bundle signature: %w (the bundle was changed after signing, or signed with another key)", err)
			}
		}
		return nil, err
	}
	if len(b.Data) > 0 {
		return nil, errors.New("data.json: data files are not supported in dwf-policy bundles: policies read settings from data.dwf.config (.dwf-policy.yaml)")
	}
	// Entry names are as the archive spells them: `tar czf b.tgz -C dir .`
	// writes ./x.rego. The file system holds each by its clean name.
	files := make(map[string][]byte, len(b.Modules))
	for _, m := range b.Modules {
		name := cleanName(m.Path)
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("the bundle holds %s twice", quoteName(name))
		}
		files[name] = m.Raw
	}
	fsys, err := newMemFS(files)
	if err != nil {
		return nil, err
	}
	out := &Bundle{FS: fsys, Revision: b.Manifest.Revision, Signed: signed}
	if b.Manifest.Roots != nil {
		out.Roots = *b.Manifest.Roots
	}
	return out, nil
}

// scan checks the archive before OPA's reader buffers it: it must be a
// gzipped tar that expands to at most maxExpandedBytes. It reports whether
// the bundle carries signatures.
func scan(data []byte) (signed bool, err error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return false, fmt.Errorf("not a bundle (.tar.gz): %w", err)
	}
	tr := tar.NewReader(io.LimitReader(gz, maxExpandedBytes+1))
	var total int64
	policies := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, fmt.Errorf("not a bundle (.tar.gz): %w", err)
		}
		total += h.Size
		if total > maxExpandedBytes || h.Size > maxExpandedBytes {
			return false, fmt.Errorf("the bundle expands to more than %d bytes", maxExpandedBytes)
		}
		if strings.ContainsRune(h.Name, '\\') {
			// A Windows path, or a name that means one thing here and
			// another to whoever unpacks it: refused, not guessed at.
			return false, fmt.Errorf("bundle entry %s: names use / between directories, not a backslash", quoteName(h.Name))
		}
		name := cleanName(h.Name)
		if name == ".signatures.json" {
			signed = true
		}
		if strings.HasSuffix(name, ".rego") {
			if policies++; policies > maxPolicyFiles {
				return false, fmt.Errorf("the bundle holds more than %d .rego files", maxPolicyFiles)
			}
		}
	}
	return signed, nil
}

// cleanName is an archive entry's name as a path in the bundle: relative,
// clean, never above the bundle's root ("./a/../b.rego" is "b.rego",
// "../../x.rego" is "x.rego").
func cleanName(name string) string {
	if c := strings.TrimPrefix(path.Clean("/"+name), "/"); c != "" {
		return c
	}
	return "."
}

// signingAlg checks the algorithm against the private key, or picks it.
func signingAlg(keyPEM []byte, alg string) (string, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return "", errors.New("the signing key is not a PEM private key")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return "", fmt.Errorf("the signing key is a %q PEM block, want a private key", block.Type)
	}
	if err != nil {
		return "", fmt.Errorf("parsing the signing key: %w", err)
	}
	var want string
	switch k := key.(type) {
	case *rsa.PrivateKey:
		want = "RS256"
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("the EC signing key is on %s; ES256 needs P-256", k.Curve.Params().Name)
		}
		want = "ES256"
	default:
		return "", fmt.Errorf("a %T signing key is not supported: use RSA (RS256) or EC P-256 (ES256)", key)
	}
	switch alg {
	case "":
		return want, nil
	case want:
		return alg, nil
	case "RS256", "ES256":
		return "", fmt.Errorf("--signing-alg %s does not fit the key, which is for %s", alg, want)
	}
	return "", fmt.Errorf("unsupported signing algorithm %q (want RS256 or ES256)", alg)
}

// verificationAlg picks the algorithm a public key verifies.
func verificationAlg(keyPEM []byte) (string, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return "", errors.New("not a PEM public key")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return "", fmt.Errorf("a %q PEM block is not a public key", block.Type)
	}
	if err != nil {
		return "", err
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return "ES256", nil
		}
		return "", fmt.Errorf("the EC key is on %s; ES256 needs P-256", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("a %T key is not supported: use RSA (RS256) or EC P-256 (ES256)", key)
}

// maxQuotedName bounds how much of an entry name a message quotes: a tar
// name may be a megabyte long.
const maxQuotedName = 200

// quoteName quotes an entry name for a message, cut at maxQuotedName bytes.
func quoteName(name string) string {
	if len(name) > maxQuotedName {
		return strconv.Quote(strings.ToValidUTF8(name[:maxQuotedName], "")) + "…"
	}
	return strconv.Quote(name)
}
