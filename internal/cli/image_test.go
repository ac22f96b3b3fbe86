package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/internal/sarifvalidate"
)

// The image helpers below are copied from engine/input/image's tests (which
// do not export them): small deterministic images built with mutate, pushed
// to go-containerregistry's in-process registry behind httptest TLS.

// tarEntry is one file of a test layer.
type tarEntry = imagetest.File

var (
	testLayer = imagetest.Layer
	ociImage  = imagetest.Image
	ociIndex  = imagetest.Index
)

const testPasswd = "root:x:0:0:root:/root:/bin/sh\ndwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"

// rootfs is a base layer with /etc/passwd and tini.
func rootfs(t testing.TB, comp compression.Compression) v1.Layer {
	return testLayer(t, comp,
		tarEntry{Name: "etc/passwd", Body: testPasswd},
		tarEntry{Name: "etc/group", Body: "root:x:0:\ndwfuser:x:1001:\n"},
		tarEntry{Name: "usr/bin/tini", Body: "\x7fELF tini"})
}

// compliant is a config that passes DWF301-DWF303 with user.
func compliant(user string) v1.Config {
	return v1.Config{User: user, Entrypoint: []string{"/usr/bin/tini", "--"}, Cmd: []string{"/app/server"}}
}

// rootConfig runs as root without an entrypoint.
func rootConfig() v1.Config { return v1.Config{Cmd: []string{"/app/server"}} }

// twoPlatforms is a compliant linux/amd64 + linux/arm64 index with zstd
// layers running as user.
func twoPlatforms(t testing.TB, user string) v1.ImageIndex {
	return ociIndex(t,
		ociImage(t, "linux/amd64", compliant(user), rootfs(t, compression.ZStd), testLayer(t, compression.ZStd, tarEntry{Name: "app/server", Body: "amd64"})),
		ociImage(t, "linux/arm64", compliant(user), rootfs(t, compression.ZStd), testLayer(t, compression.ZStd, tarEntry{Name: "app/server", Body: "arm64"})),
	)
}

// testRegistry is imagetest's in-process registry with lowercase helpers.
type testRegistry struct{ *imagetest.Registry }

// newTestRegistry starts a registry; wrap, when not nil, sits in front of
// it to inject failures.
func newTestRegistry(t testing.TB, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	return &testRegistry{imagetest.NewRegistry(t, wrap)}
}

func (r *testRegistry) ref(repo string) string { return r.Ref(repo) }
func (r *testRegistry) count(key string) int   { return r.Count(key) }
func (r *testRegistry) push(t testing.TB, ref string, img v1.Image) v1.Hash {
	t.Helper()
	return r.Push(t, ref, img)
}
func (r *testRegistry) pushIndex(t testing.TB, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	return r.PushIndex(t, ref, idx)
}

// tlsTransport trusts the test registries.
var tlsTransport = imagetest.Transport

// countingTransport counts the requests dwf-policy sends.
type countingTransport struct {
	inner http.RoundTripper
	n     atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.inner.RoundTrip(r)
}

// runNet executes the CLI in-process in wd with registry requests going
// through tr (nil: the test TLS transport) and no credentials from the
// machine. It returns stdout, stderr, the exit code and the number of
// requests sent.
func runNet(t testing.TB, wd string, tr http.RoundTripper, args ...string) (string, string, int, int64) {
	t.Helper()
	if tr == nil {
		tr = tlsTransport()
	}
	ct := &countingTransport{inner: tr}
	var stdout, stderr bytes.Buffer
	code := Command{
		Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), WorkDir: wd,
		RegistryTransport: ct, Keychain: authn.NewMultiKeychain(),
	}.Main(context.Background(), append([]string{"dwf-policy"}, args...))
	return stdout.String(), stderr.String(), code, ct.n.Load()
}

// jsonFinding is a finding of --format json, as compared in tests.
type jsonFinding struct {
	RuleID   string `json:"rule_id"`
	Path     string `json:"path"`
	Subject  string `json:"subject"`
	Message  string `json:"message"`
	Location struct {
		Line int `json:"line"`
	} `json:"location"`
	Suppressions []struct {
		Kind string `json:"kind"`
	} `json:"suppressions"`
}

func jsonFindings(t *testing.T, out string) []jsonFinding {
	t.Helper()
	var rep struct {
		Findings []jsonFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return rep.Findings
}

func TestImageCompliant(t *testing.T) {
	reg := newTestRegistry(t, nil)
	dir := t.TempDir()
	byUID := reg.ref("team/app:1")
	reg.pushIndex(t, byUID, twoPlatforms(t, "1001"))
	byName := reg.ref("team/app:named")
	reg.pushIndex(t, byName, twoPlatforms(t, "dwfuser"))

	t.Run("2-platform index", func(t *testing.T) {
		out, stderr, code, _ := runNet(t, dir, nil, "image", "--no-cache", byUID)
		if code != ExitOK || out != "0 problems in 1 image: 0 errors, 0 warnings, 0 notes\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
		}
	})
	t.Run("user by name through /etc/passwd", func(t *testing.T) {
		out, stderr, code, _ := runNet(t, dir, nil, "image", "--no-cache", "--format", "json", byName)
		if code != ExitOK || len(jsonFindings(t, out)) != 0 {
			t.Errorf("exit %d, stdout %s, stderr %q", code, out, stderr)
		}
	})
	t.Run("platform filter", func(t *testing.T) {
		_, stderr, code, _ := runNet(t, dir, nil, "image", "--no-cache", "--platform", "linux/arm64,linux/amd64", "--platform", "linux/arm64", byName)
		if code != ExitOK {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		_, stderr, code, _ = runNet(t, dir, nil, "image", "--no-cache", "--platform", "linux/s390x", byName)
		if code != ExitError || !strings.Contains(stderr, "no linux/s390x image (the image has linux/amd64, linux/arm64)") {
			t.Errorf("missing platform: exit %d, stderr %q", code, stderr)
		}
	})
}

// hostless replaces the registry's random address so outputs can be
// compared with goldens.
func hostless(s string, reg *testRegistry) string {
	s = strings.ReplaceAll(s, strings.ReplaceAll(reg.Host, ":", "%3A"), "registry.test") // in SARIF URIs
	return strings.ReplaceAll(s, reg.Host, "registry.test")
}

// TestImageNonCompliant checks a single-platform image that runs as root,
// without an entrypoint, with gzip layers: the exact findings in every
// format, SARIF validated.
func TestImageNonCompliant(t *testing.T) {
	reg := newTestRegistry(t, nil)
	dir := t.TempDir()
	ref := reg.ref("team/root:1")
	digest := reg.push(t, ref, ociImage(t, "linux/amd64", rootConfig(), rootfs(t, compression.GZip)))
	root := repoRoot(t)

	out, stderr, code, _ := runNet(t, dir, nil, "image", "--no-cache", "--format", "json", ref)
	if code != ExitFindings {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	subject := ref + "@" + digest.String()
	// An image has no lines: its findings have no location, not line 0.
	if strings.Contains(out, `"location"`) || strings.Contains(out, `"line"`) {
		t.Errorf("image findings carry a location:\n%s", out)
	}
	var got []string
	for _, f := range jsonFindings(t, out) {
		if f.Path != ref {
			t.Errorf("%s: path %q, want the reference as given", f.RuleID, f.Path)
		}
		got = append(got, f.RuleID+" "+f.Subject)
	}
	want := []string{
		"DWF301 " + subject + " (linux/amd64)",
		"DWF303 " + subject + " (linux/amd64)",
		"DWF304 " + subject,
		"DWF305 " + subject + " (linux/amd64)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	out, _, code, _ = runNet(t, dir, nil, "image", "--no-cache", ref)
	if code != ExitFindings {
		t.Errorf("text: exit %d", code)
	}
	golden(t, filepath.Join(root, "testdata", "golden", "image.txt"), hostless(out, reg))

	sarifFile := filepath.Join(dir, "image.sarif")
	_, stderr, code, _ = runNet(t, dir, nil, "image", "--no-cache", "--format", "sarif", "--output", sarifFile, ref)
	if code != ExitFindings {
		t.Fatalf("sarif: exit %d, stderr %q", code, stderr)
	}
	sarifvalidate.Validate(t, sarifFile)
	raw, err := os.ReadFile(sarifFile)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join(root, "testdata", "golden", "image.sarif"), hostless(sarifResultsOnly(t, normalizeVersion(string(raw))), reg))
}

// TestImageDockerfile places image findings at the lines of the Dockerfile
// the image is built from, keeping the image as the subject.
func TestImageDockerfile(t *testing.T) {
	reg := newTestRegistry(t, nil)
	dir := t.TempDir()
	ref := reg.ref("team/root:1")
	reg.push(t, ref, ociImage(t, "linux/amd64", rootConfig(), rootfs(t, compression.GZip)))
	root := repoRoot(t)
	writeTree(t, dir, map[string]string{
		"build/Dockerfile": `# syntax=docker/dockerfile:1
FROM golang:1.23 AS build
RUN go build -o /app .

FROM debian:12 AS base
USER root

# dwf-policy:ignore DWF305 gzip until the registry mirror speaks zstd
FROM base
COPY --from=build /app /app
# dwf-policy:ignore DWF104 this comment is for check, not for image
ENTRYPOINT /app
`,
		"plain.Dockerfile": "FROM debian:12\nCOPY app /app\n",
	})

	out, stderr, code, _ := runNet(t, dir, nil, "image", "--no-cache", "--show-suppressed", "--dockerfile", "build/Dockerfile", ref)
	if code != ExitFindings {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	golden(t, filepath.Join(root, "testdata", "golden", "image.dockerfile.txt"), hostless(out, reg))

	sarifFile := filepath.Join(dir, "image.sarif")
	if _, stderr, code, _ = runNet(t, dir, nil, "image", "--no-cache", "--format", "sarif", "--output", sarifFile, "--dockerfile", "build/Dockerfile", ref); code != ExitFindings {
		t.Fatalf("sarif: exit %d, stderr %q", code, stderr)
	}
	sarifvalidate.Validate(t, sarifFile)
	raw, err := os.ReadFile(sarifFile)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join(root, "testdata", "golden", "image.dockerfile.sarif"), hostless(sarifResultsOnly(t, normalizeVersion(string(raw))), reg))

	t.Run("no USER or ENTRYPOINT: at the final FROM", func(t *testing.T) {
		out, _, _, _ := runNet(t, dir, nil, "image", "--no-cache", "--format", "json", "--dockerfile", "plain.Dockerfile", ref)
		for _, f := range jsonFindings(t, out) {
			if f.Path != "plain.Dockerfile" || f.Location.Line != 1 || !strings.HasPrefix(f.Subject, ref+"@sha256:") {
				t.Errorf("%s at %s:%d [%s], want plain.Dockerfile:1 with the image as subject", f.RuleID, f.Path, f.Location.Line, f.Subject)
			}
		}
	})
	t.Run("broken Dockerfile is DWF000, images still checked", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"broken.Dockerfile": "RUN echo before any FROM\n"})
		out, _, code, _ := runNet(t, dir, nil, "image", "--no-cache", "--format", "json", "--dockerfile", "broken.Dockerfile", ref)
		fs := jsonFindings(t, out)
		if code != ExitFindings || len(fs) != 5 || fs[0].Path != ref || fs[4].RuleID != "DWF000" || fs[4].Path != "broken.Dockerfile" {
			t.Errorf("exit %d, findings %+v", code, fs)
		}
	})
}

// TestImageLoadErrors: images that cannot be loaded are reported on stderr
// with the cause and a hint, the others are still checked and reported, and
// the exit code is 2.
func TestImageLoadErrors(t *testing.T) {
	reg := newTestRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasPrefix(r.URL.Path, "/v2/team/private/"):
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			case strings.HasPrefix(r.URL.Path, "/v2/team/empty/manifests/"):
				// A registry or proxy that answers 200 with nothing.
				w.WriteHeader(http.StatusOK)
				return
			case strings.HasPrefix(r.URL.Path, "/v2/team/slow/"):
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				// Drop the connection, as a stalled registry would: returning
				// would answer an empty 200 that a late retry takes for a manifest.
				panic(http.ErrAbortHandler)
			}
			next.ServeHTTP(w, r)
		})
	})
	dir := t.TempDir()
	good := reg.ref("team/root:1")
	reg.push(t, good, ociImage(t, "linux/amd64", rootConfig(), rootfs(t, compression.GZip)))
	gone := httptest.NewTLSServer(http.NotFoundHandler())
	unreachable := gone.Listener.Addr().String() + "/team/app:1"
	gone.Close()
	writeTree(t, dir, map[string]string{"not-an-image.tar": "not a tar"})
	emptyTar := filepath.Join(dir, "empty.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	if err := os.WriteFile(emptyTar, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	refs := []string{
		good,
		reg.ref("team/private:1"),
		reg.ref("team/missing:1"),
		reg.ref("team/slow:1"),
		unreachable,
		"tarball:empty.tar",
		reg.ref("team/empty:1"),
	}
	start := time.Now()
	out, stderr, code, _ := runNet(t, dir, nil, append([]string{"image", "--no-cache", "--format", "json", "--timeout", "1s"}, refs...)...)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	var got []string
	for _, f := range jsonFindings(t, out) {
		got = append(got, f.RuleID+" "+f.Path)
		if f.Path == reg.ref("team/empty:1") && !strings.Contains(f.Message, "the registry answered with an empty manifest") {
			t.Errorf("an empty manifest: %q", f.Message)
		}
	}
	want := []string{
		"DWF000 " + reg.ref("team/empty:1"),
		"DWF301 " + good, "DWF303 " + good, "DWF304 " + good, "DWF305 " + good,
		"DWF000 tarball:empty.tar",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings of the images that loaded (-want +got):\n%s\nstderr:\n%s", diff, stderr)
	}
	for _, s := range []string{
		"loading image " + reg.ref("team/private:1") + ": unauthorized",
		"hint: log in with `docker login " + reg.Host + "`",
		"loading image " + reg.ref("team/missing:1") + ": not found",
		"hint: check the repository and tag",
		"loading image " + reg.ref("team/slow:1") + ": timed out after 1s",
		"hint: the registry did not answer within --timeout 1s",
		"loading image " + unreachable + ": ",
		"hint: nothing answers at " + strings.TrimSuffix(unreachable, "/team/app:1") + ": check the registry host and port",
		"dwf-policy: 4 of 7 images could not be checked\n",
	} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr does not say %q:\n%s", s, stderr)
		}
	}
	t.Logf("stderr:\n%s", stderr)
	if strings.Contains(stderr, good) {
		t.Errorf("stderr mentions the image that loaded:\n%s", stderr)
	}
}

func TestImageUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"image"}, "requires at least 1 arg"},
		{[]string{"image", "--platform", "linux", "x:1"}, `--platform: "linux" is not OS/ARCH[/VARIANT]`},
		{[]string{"image", "--timeout", "0s", "x:1"}, "--timeout: must be positive"},
		{[]string{"image", "--no-cache", "--cache-dir", "c", "x:1"}, "none of the others can be"},
		{[]string{"image", "--dockerfile", "nope", "x:1"}, "--dockerfile: nope: no such file or directory"},
		{[]string{"image", "--trivy-report", "nope.json", "x:1"}, "--trivy-report: nope.json: no such file or directory"},
		{[]string{"image", "--trivy-report", "r.json", "--no-attached-reports", "x:1"}, "none of the others can be"},
		{[]string{"image", "--format", "xml", "x:1"}, `--format: unknown format "xml"`},
	} {
		_, stderr, code, n := runNet(t, dir, nil, tc.args...)
		if code != ExitError || !strings.Contains(stderr, tc.stderr) || n != 0 {
			t.Errorf("%v: exit %d, %d requests, stderr %q; want 2, none, %q", tc.args, code, n, stderr, tc.stderr)
		}
	}
	out, _, code, _ := runNet(t, dir, nil, "image", "--help")
	if code != ExitOK || !strings.Contains(out, "--insecure-registry") || !strings.Contains(out, "--dockerfile") {
		t.Errorf("image --help: exit %d\n%s", code, out)
	}
}

// TestImageCache: a warm run of a 2-platform image costs the ping and the
// tag lookup; everything by digest comes from the cache. Logs the numbers.
func TestImageCache(t *testing.T) {
	reg := newTestRegistry(t, nil)
	dir := t.TempDir()
	ref := reg.ref("team/app:1")
	reg.pushIndex(t, ref, twoPlatforms(t, "dwfuser"))
	cache := filepath.Join(dir, "cache")

	start := time.Now()
	_, stderr, code, cold := runNet(t, dir, nil, "image", "--cache-dir", cache, ref)
	coldTime := time.Since(start)
	if code != ExitOK {
		t.Fatalf("cold: exit %d, stderr %q", code, stderr)
	}
	start = time.Now()
	_, stderr, code, warm := runNet(t, dir, nil, "image", "--cache-dir", cache, ref)
	warmTime := time.Since(start)
	if code != ExitOK {
		t.Fatalf("warm: exit %d, stderr %q", code, stderr)
	}
	// Cold: ping, index, 2 manifests, 2 configs, 2 layers per platform to
	// find dwfuser in /etc/passwd under the app layer. Warm: ping, index.
	// Both then look for attached reports, which are not cached (a report
	// may be attached at any time): ping, then for the index and each
	// platform manifest the referrers API, its fallback tag and cosign's
	// .att tag.
	if cold != 10+1+3*3 || warm != 2+1+3*3 {
		t.Errorf("requests cold %d, warm %d; want 20 and 12", cold, warm)
	}
	t.Logf("dwf-policy image, 2-platform index, in-process registry (whole CLI, policy compile included): cold %s (%d requests), warm %s (%d requests)",
		coldTime.Round(time.Millisecond), cold, warmTime.Round(time.Millisecond), warm)
}

// baseRegistry serves devflow/base:1 (dwfuser and tini on two platforms)
// and devflow/nobody:1 (user nobody, no entrypoint, linux/arm64 only).
func baseRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := newTestRegistry(t, nil)
	reg.pushIndex(t, reg.ref("devflow/base:1"), twoPlatforms(t, "dwfuser"))
	reg.push(t, reg.ref("devflow/nobody:1"), ociImage(t, "linux/arm64", v1.Config{User: "nobody", Cmd: []string{"/bin/sh"}}, rootfs(t, compression.ZStd)))
	return reg
}

func TestCheckResolveBaseImages(t *testing.T) {
	reg := baseRegistry(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"app/Dockerfile":    "FROM " + reg.ref("devflow/base:1") + "\nCOPY server /app/server\nCMD [\"/app/server\"]\n",
		"worker/Dockerfile": "FROM " + reg.ref("devflow/base:1") + " AS base\nFROM base\nCOPY worker /app/worker\n",
	})

	t.Run("off by default: no network, the Dockerfile alone fails", func(t *testing.T) {
		out, stderr, code, n := runNet(t, dir, nil, "check", "--format", "json", ".")
		if code != ExitFindings || n != 0 {
			t.Fatalf("exit %d, %d requests; want 1 and none; stderr %q", code, n, stderr)
		}
		var ids []string
		for _, f := range jsonFindings(t, out) {
			ids = append(ids, f.RuleID+" "+f.Path)
		}
		want := []string{"DWF101 app/Dockerfile", "DWF103 app/Dockerfile", "DWF101 worker/Dockerfile", "DWF103 worker/Dockerfile"}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
	})
	t.Run("inherits dwfuser and tini: passes, one fetch", func(t *testing.T) {
		before := reg.count("GET /v2/devflow/base/manifests/1")
		out, stderr, code, n := runNet(t, dir, nil, "check", "--resolve-base-images", "--no-cache", ".")
		if code != ExitOK || stderr != "" {
			t.Fatalf("exit %d, stdout %s, stderr %q", code, out, stderr)
		}
		if got := reg.count("GET /v2/devflow/base/manifests/1") - before; got != 1 {
			t.Errorf("the base index was fetched %d times for two Dockerfiles, want once", got)
		}
		// ping, index, the linux/amd64 manifest and its config; no layers.
		if n != 4 {
			t.Errorf("%d requests, want 4", n)
		}
	})
	t.Run("a wrong base user is reported at the FROM", func(t *testing.T) {
		d := t.TempDir()
		writeTree(t, d, map[string]string{"Dockerfile": "# runtime\nFROM " + reg.ref("devflow/nobody:1") + "\nENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n"})
		out, stderr, code, _ := runNet(t, d, nil, "check", "--resolve-base-images", "--no-cache", "--format", "json", "Dockerfile")
		fs := jsonFindings(t, out)
		if code != ExitFindings || len(fs) != 1 || fs[0].RuleID != "DWF102" || fs[0].Location.Line != 2 {
			t.Fatalf("exit %d, findings %+v, stderr %q; want DWF102 at line 2 (the single-platform arm64 base is used as is)", code, fs, stderr)
		}
		// The user comes from the base image, not from a USER line the
		// Dockerfile does not have: the message names the image.
		if msg := fs[0].Message; !strings.Contains(msg, "set by the base image `"+reg.ref("devflow/nobody:1")+"@sha256:") || strings.Contains(msg, "USER nobody") {
			t.Errorf("message %q; want it to say the user is set by the base image <ref>@<digest>", msg)
		}
	})
	t.Run("an unreachable base: stderr, checked without it, exit 2", func(t *testing.T) {
		d := t.TempDir()
		writeTree(t, d, map[string]string{
			"a/Dockerfile": "FROM " + reg.ref("devflow/missing:1") + "\n",
			"b/Dockerfile": "FROM " + reg.ref("devflow/missing:1") + "\nUSER 1001\n",
			"c/Dockerfile": "ARG BASE\nFROM $BASE\n",
			"d/Dockerfile": "FROM --platform=linux/arm64 " + reg.ref("devflow/base:1") + "\n",
		})
		out, stderr, code, _ := runNet(t, d, nil, "check", "--resolve-base-images", "--no-cache", "--format", "json", ".")
		if code != ExitError {
			t.Errorf("exit %d, want 2", code)
		}
		var ids []string
		for _, f := range jsonFindings(t, out) {
			ids = append(ids, f.RuleID+" "+f.Path)
		}
		want := []string{"DWF101 a/Dockerfile", "DWF103 a/Dockerfile", "DWF103 b/Dockerfile", "DWF101 c/Dockerfile", "DWF103 c/Dockerfile", "DWF105 c/Dockerfile"}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
		for _, s := range []string{
			"dwf-policy: base image of a/Dockerfile, b/Dockerfile: loading image " + reg.ref("devflow/missing:1") + ": not found",
			"dwf-policy: c/Dockerfile:2: FROM $BASE uses a build argument with no default: checked without its base image",
			"dwf-policy: 1 of 2 base images could not be resolved",
		} {
			if !strings.Contains(stderr, s) {
				t.Errorf("stderr does not say %q:\n%s", s, stderr)
			}
		}
	})
}

// realRegistry is the docker-registry the test setup started.
func realRegistry(t *testing.T) string {
	return imagetest.RealRegistry(t, "./internal/cli")
}

// TestIntegrationImage pushes images to a real registry (Debian's
// docker-registry, plain HTTP on loopback) and runs `dwf-policy image` and
// `check --resolve-base-images` against it, as the README documents, with
// the default HTTP transport; it logs the cold and warm cost.
func TestIntegrationImage(t *testing.T) {
	addr := realRegistry(t)
	repo := addr + "/dwf-it/cli-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	push := func(ref string, write func(name.Reference) error) {
		t.Helper()
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(r); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
	}
	good, bad, base := repo+"/app:good", repo+"/app:bad", repo+"/base:1"
	push(good, func(r name.Reference) error { return remote.WriteIndex(r, twoPlatforms(t, "dwfuser")) })
	push(base, func(r name.Reference) error { return remote.WriteIndex(r, twoPlatforms(t, "dwfuser")) })
	push(bad, func(r name.Reference) error {
		return remote.Write(r, ociImage(t, "linux/amd64", rootConfig(), rootfs(t, compression.GZip)))
	})
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	plain := http.DefaultTransport.(*http.Transport).Clone()

	t.Run("image, cold and warm", func(t *testing.T) {
		start := time.Now()
		out, stderr, code, cold := runNet(t, dir, plain, "image", "--insecure-registry", addr, "--cache-dir", cache, good)
		coldTime := time.Since(start)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, out, stderr)
		}
		start = time.Now()
		_, _, code, warm := runNet(t, dir, plain, "image", "--insecure-registry", addr, "--cache-dir", cache, good)
		warmTime := time.Since(start)
		if code != ExitOK {
			t.Fatalf("warm: exit %d", code)
		}
		// The ping tries HTTPS, then HTTP. Cold: 2 pings, index, 2
		// manifests, 2 configs, 4 layers; warm: 2 pings and the index.
		// Both then look for an attached Trivy report: 2 more pings, then
		// for the index and each of its 2 platform manifests the referrers
		// API, its tag fallback and the cosign .att tag (the lists are
		// never cached: a report may be attached at any time).
		if cold != 22 || warm != 14 {
			t.Errorf("requests cold %d, warm %d; want 22 and 14", cold, warm)
		}
		t.Logf("dwf-policy image, 2-platform index, docker-registry (whole CLI, policy compile included): cold %s (%d requests), warm %s (%d requests)",
			coldTime.Round(time.Millisecond), cold, warmTime.Round(time.Millisecond), warm)
	})
	t.Run("image, non-compliant", func(t *testing.T) {
		out, stderr, code, _ := runNet(t, dir, plain, "image", "--insecure-registry", addr, "--no-cache", "--format", "json", bad)
		var ids []string
		for _, f := range jsonFindings(t, out) {
			ids = append(ids, f.RuleID)
		}
		if code != ExitFindings || !cmp.Equal(ids, []string{"DWF301", "DWF303", "DWF304", "DWF305"}) {
			t.Errorf("exit %d, findings %v, stderr %q", code, ids, stderr)
		}
	})
	t.Run("plain HTTP needs --insecure-registry", func(t *testing.T) {
		_, stderr, code, _ := runNet(t, dir, plain, "image", "--no-cache", good)
		if code != ExitError || !strings.Contains(stderr, "--insecure-registry") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("check --resolve-base-images", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY server /app/server\n"})
		if _, _, code, n := runNet(t, dir, plain, "check", "Dockerfile"); code != ExitFindings || n != 0 {
			t.Errorf("without the flag: exit %d, %d requests; want 1, none", code, n)
		}
		out, stderr, code, _ := runNet(t, dir, plain, "check", "--resolve-base-images", "--insecure-registry", addr, "--no-cache", "Dockerfile")
		if code != ExitOK {
			t.Errorf("exit %d\n%s%s", code, out, stderr)
		}
	})
}

// TestImageBarePathOfLocalLayout: `image ./out` and `image out` for a local
// OCI layout suggest the oci-layout: prefix and send no request.
func TestImageBarePathOfLocalLayout(t *testing.T) {
	wd := t.TempDir()
	out := filepath.Join(wd, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "index.json"), []byte(`{"schemaVersion":2,"manifests":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"./out", "out"} {
		_, stderr, code, requests := runNet(t, wd, nil, "image", ref)
		if code != ExitError || requests != 0 || !strings.Contains(stderr, "write oci-layout:"+ref) {
			t.Errorf("image %s: exit %d, %d requests, stderr %q; want exit 2, no request, a suggestion of oci-layout:%s", ref, code, requests, stderr, ref)
		}
	}
}
