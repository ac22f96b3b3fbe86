package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/devflow/dwf-policy/engine/document"
)

func TestLoadMultiArchIndex(t *testing.T) {
	reg := newRegistry(t, nil)
	amd := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	arm := image(t, "linux/arm64/v8", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	idx := mutate.AppendManifests(index(t, amd, arm), attestation(t, amd))
	ref := reg.ref("team/app:1.0")
	digest := reg.pushIndex(t, ref, idx)

	doc := load(t, ref, reg.options())
	amdDigest, _ := amd.Digest()
	armDigest, _ := arm.Digest()
	amdConfig, _ := amd.ConfigName()
	subject := ref + "@" + digest.String()
	top := map[string]any{}
	for k, v := range doc {
		if k != "platforms" {
			top[k] = v
		}
	}
	want := map[string]any{
		"kind":       "image",
		"reference":  ref,
		"transport":  "registry",
		"registry":   reg.host,
		"repository": reg.host + "/team/app",
		"tag":        "1.0",
		"digest":     digest.String(),
		"media_type": "application/vnd.oci.image.index.v1+json",
		"is_index":   true,
		"subject":    subject,
		"index_platforms": []any{
			map[string]any{"platform": "linux/amd64", "os": "linux", "architecture": "amd64", "variant": "", "digest": amdDigest.String()},
			map[string]any{"platform": "linux/arm64/v8", "os": "linux", "architecture": "arm64", "variant": "v8", "digest": armDigest.String()},
		},
		"vulnerability_report": map[string]any{"looked_up": false, "found": false, "source": "", "reference": "", "created_at": ""},
	}
	if diff := cmp.Diff(want, top); diff != "" {
		t.Errorf("document (-want +got):\n%s", diff)
	}
	if n := len(doc["platforms"].([]any)); n != 2 {
		t.Fatalf("%d platforms, want 2 (the attestation is skipped)", n)
	}
	amdDoc := platform(t, doc, "linux/amd64")
	amdDoc["layers"] = nil // checked in TestLayerCompression
	wantAmd := map[string]any{
		"platform":      "linux/amd64",
		"os":            "linux",
		"architecture":  "amd64",
		"variant":       "",
		"digest":        amdDigest.String(),
		"media_type":    "application/vnd.oci.image.manifest.v1+json",
		"subject":       subject + " (linux/amd64)",
		"config_digest": amdConfig.String(),
		"config": map[string]any{
			"user":        "1001",
			"entrypoint":  []any{"/usr/bin/tini", "--"},
			"cmd":         []any{"/app/server"},
			"env":         map[string]any{"PATH": "/usr/local/bin:/usr/bin:/bin", "APP": "1"},
			"labels":      map[string]any{"org.opencontainers.image.source": "https://example.com/app"},
			"working_dir": "/app",
		},
		"layers": nil,
		"user": map[string]any{
			"raw": "1001", "set": true, "name": "1001", "group": "", "uid": 1001, "gid": nil,
			"resolved_uid": 1001, "resolved_gid": nil,
			"passwd_checked": true, "passwd_found": true, "in_passwd": false,
			"group_found": false, "in_group": false, "lookup_error": "",
		},
		"entrypoint": map[string]any{"words": []any{"/usr/bin/tini", "--"}, "form": "exec", "program": "tini", "via_shell": false},
		"cmd":        map[string]any{"words": []any{"/app/server"}, "form": "exec", "program": "server", "via_shell": false},
	}
	if diff := cmp.Diff(wantAmd, amdDoc); diff != "" {
		t.Errorf("linux/amd64 (-want +got):\n%s", diff)
	}
	if got := evaluate(t, doc); len(got) != 0 {
		t.Errorf("a compliant index has findings: %v", got)
	}

	t.Run("platform filter", func(t *testing.T) {
		o := reg.options()
		o.Platforms = []string{"linux/arm64"}
		doc := load(t, ref, o)
		ps := doc["platforms"].([]any)
		if len(ps) != 1 || ps[0].(map[string]any)["platform"] != "linux/arm64/v8" {
			t.Errorf("platforms = %v, want only linux/arm64/v8", ps)
		}
		if n := len(doc["index_platforms"].([]any)); n != 2 {
			t.Errorf("index_platforms has %d entries, want all 2 whatever the filter", n)
		}
	})
	t.Run("missing platform", func(t *testing.T) {
		o := reg.options()
		o.Platforms = []string{"linux/s390x"}
		_, err := Load(context.Background(), ref, o)
		if !errors.Is(err, ErrPlatformNotFound) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64/v8") {
			t.Errorf("err = %v, want ErrPlatformNotFound listing the platforms", err)
		}
	})
	t.Run("by digest", func(t *testing.T) {
		byDigest := reg.ref("team/app@" + digest.String())
		doc := load(t, byDigest, reg.options())
		if doc["subject"] != byDigest || doc["tag"] != "" {
			t.Errorf("subject, tag = %v, %v; want %s and no tag", doc["subject"], doc["tag"], byDigest)
		}
	})
}

// TestPlatformsDiffer checks that a platform that differs is named.
func TestPlatformsDiffer(t *testing.T) {
	reg := newRegistry(t, nil)
	rootCfg := goodConfig()
	rootCfg.User = ""
	rootCfg.Entrypoint = nil
	amd := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	arm := image(t, "linux/arm64", rootCfg, baseLayer(t, compression.ZStd, passwdBase))
	ref := reg.ref("team/app:mixed")
	digest := reg.pushIndex(t, ref, index(t, amd, arm))
	got := evaluate(t, load(t, ref, reg.options()))
	subject := ref + "@" + digest.String() + " (linux/arm64)"
	want := []finding{
		{ID: "DWF301", Subject: subject, Msg: "The linux/arm64 image runs as root because its config sets no user; add `USER 1001` to the final stage and rebuild."},
		{ID: "DWF303", Subject: subject, Msg: "The linux/arm64 image has no ENTRYPOINT, so PID 1 is not tini and signals and zombie processes go unhandled; add `ENTRYPOINT [\"tini\", \"--\"]`."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestUserResolution(t *testing.T) {
	const dwf1001 = passwdBase + "dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
	const dwf1000 = passwdBase + "dwfuser:x:1000:1000::/home/dwfuser:/bin/sh\n"
	gz := compression.GZip
	tests := []struct {
		name   string
		user   string
		layers func(t *testing.T) []v1.Layer
		want   map[string]any // fields of the user object to compare
		// layersRead is how many layers the lookup opens.
		layersRead int64
		findings   []string
	}{{
		name: "user by name with a passwd layer",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, passwdBase), layer(t, gz, file{Name: "etc/passwd", Body: dwf1001}), layer(t, gz, file{Name: "app/server", Body: "x"})}
		},
		want:       map[string]any{"uid": nil, "resolved_uid": 1001, "resolved_gid": 1001, "passwd_found": true, "in_passwd": true},
		layersRead: 2,
	}, {
		name: "passwd deleted by a whiteout",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1001), layer(t, gz, whiteout("etc/passwd"))}
		},
		want:       map[string]any{"resolved_uid": nil, "passwd_found": false, "in_passwd": false},
		layersRead: 1,
		findings:   []string{"DWF302"},
	}, {
		name: "etc hidden by an opaque directory",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1001), layer(t, gz, dir("etc"), opaque("etc"), file{Name: "etc/hostname", Body: "x"})}
		},
		want:       map[string]any{"passwd_found": false, "in_passwd": false},
		layersRead: 1,
		findings:   []string{"DWF302"},
	}, {
		name: "opaque directory with a new passwd",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1000), layer(t, gz, opaque("etc"), file{Name: "etc/passwd", Body: dwf1001})}
		},
		want:       map[string]any{"resolved_uid": 1001, "in_passwd": true},
		layersRead: 1,
	}, {
		name: "passwd changed in an upper layer",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1001), layer(t, gz, file{Name: "./etc/passwd", Body: dwf1000})}
		},
		want:       map[string]any{"resolved_uid": 1000, "in_passwd": true},
		layersRead: 1,
		findings:   []string{"DWF302"},
	}, {
		name: "passwd deleted then recreated",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1000), layer(t, gz, whiteout("etc/passwd")), layer(t, gz, file{Name: "etc/passwd", Body: dwf1001})}
		},
		want:       map[string]any{"resolved_uid": 1001, "in_passwd": true},
		layersRead: 1,
	}, {
		name: "passwd is a symlink",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1000), layer(t, gz, file{Name: "usr/lib/passwd", Body: dwf1001}, symlink("etc/passwd", "../usr/lib/passwd"))}
		},
		want:       map[string]any{"resolved_uid": 1001, "in_passwd": true},
		layersRead: 2, // the link, then its target from the top again
	}, {
		name: "USER 1001:1001",
		user: "1001:1001",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1001)}
		},
		want:       map[string]any{"uid": 1001, "gid": 1001, "resolved_uid": 1001, "resolved_gid": 1001, "in_passwd": true},
		layersRead: 1,
	}, {
		name: "numeric user not in passwd",
		user: "1234",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, passwdBase)}
		},
		want:       map[string]any{"uid": 1234, "resolved_uid": 1234, "resolved_gid": nil, "passwd_found": true, "in_passwd": false},
		layersRead: 1,
		findings:   []string{"DWF302"},
	}, {
		name: "standard UID not in passwd still runs",
		user: "1001",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, passwdBase)}
		},
		want:       map[string]any{"uid": 1001, "resolved_uid": 1001, "in_passwd": false},
		layersRead: 1,
	}, {
		name: "name and group",
		user: "dwfuser:staff",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1001)}
		},
		want:       map[string]any{"resolved_uid": 1001, "resolved_gid": 50, "group_found": true, "in_group": true},
		layersRead: 1,
	}, {
		name: "group not in group file",
		user: "dwfuser:wheel",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, dwf1001)}
		},
		want:       map[string]any{"resolved_uid": 1001, "resolved_gid": nil, "group_found": true, "in_group": false},
		layersRead: 1,
		findings:   []string{"DWF302"},
	}, {
		name: "no passwd at all",
		user: "dwfuser",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{layer(t, gz, file{Name: "usr/bin/tini", Body: "x"}), layer(t, gz, file{Name: "app", Body: "x"})}
		},
		want:       map[string]any{"passwd_found": false, "in_passwd": false},
		layersRead: 2,
		findings:   []string{"DWF302"},
	}, {
		name: "name with UID 0",
		user: "admin",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, passwdBase+"admin:x:0:0::/root:/bin/sh\n")}
		},
		want:       map[string]any{"resolved_uid": 0, "in_passwd": true},
		layersRead: 1,
		findings:   []string{"DWF301"},
	}, {
		name: "root is not looked up",
		user: "0:0",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, passwdBase)}
		},
		want:       map[string]any{"uid": 0, "passwd_checked": false, "passwd_found": false},
		layersRead: 0,
		findings:   []string{"DWF301"},
	}, {
		name: "unset user",
		user: "",
		layers: func(t *testing.T) []v1.Layer {
			return []v1.Layer{baseLayer(t, gz, passwdBase)}
		},
		want:       map[string]any{"set": false, "passwd_checked": false},
		layersRead: 0,
		findings:   []string{"DWF301"},
	}}
	reg := newRegistry(t, nil)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := goodConfig()
			cfg.User = tc.user
			ref := reg.ref("users/case" + string(rune('a'+i)) + ":1")
			reg.pushIndex(t, ref, index(t, image(t, "linux/amd64", cfg, tc.layers(t)...), image(t, "linux/arm64", goodConfig(), baseLayer(t, gz, passwdBase))))
			o := reg.options()
			o.Platforms = []string{"linux/amd64"}
			doc := load(t, ref, o)
			u := userOf(t, doc, "linux/amd64")
			for k, want := range tc.want {
				if diff := cmp.Diff(want, u[k]); diff != "" {
					t.Errorf("user.%s (-want +got): %s", k, diff)
				}
			}
			if got := o.Stats.LayersRead.Load(); got != tc.layersRead {
				t.Errorf("read %d layers, want %d", got, tc.layersRead)
			}
			var got []string
			for _, f := range evaluate(t, doc) {
				if f.ID != "DWF305" { // gzip layers
					got = append(got, f.ID)
				}
			}
			if diff := cmp.Diff(tc.findings, got); diff != "" {
				t.Errorf("findings (-want +got): %s\n%v", diff, evaluate(t, doc))
			}
		})
	}
}

func TestHugePasswd(t *testing.T) {
	reg := newRegistry(t, nil)
	huge := passwdBase + strings.Repeat("filler:x:2000:2000::/home/filler:/bin/sh\n", 100_000) + "dwfuser:x:1001:1001::/:/bin/sh\n"
	cfg := goodConfig()
	cfg.User = "dwfuser"
	ref := reg.ref("team/huge:1")
	reg.push(t, ref, image(t, "linux/amd64", cfg, baseLayer(t, compression.GZip, huge)))
	o := reg.options()
	o.MaxPasswdBytes = 64 << 10
	doc := load(t, ref, o)
	u := userOf(t, doc, "linux/amd64")
	if u["lookup_error"] != "/etc/passwd is larger than 65536 bytes" || u["resolved_uid"] != nil || u["passwd_found"] != true {
		t.Errorf("user = %v, want the cap reported and no UID", u)
	}
	var got []string
	for _, f := range evaluate(t, doc) {
		if f.ID == "DWF302" {
			got = append(got, f.Msg)
		}
	}
	want := []string{"The user `dwfuser` of the linux/amd64 image cannot be resolved to a UID (/etc/passwd is larger than 65536 bytes); use `USER 1001`."}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DWF302 (-want +got):\n%s", diff)
	}
	// Within the default cap (1 MiB is not enough for 4 MiB), and with a
	// larger one the user resolves.
	o = reg.options()
	o.MaxPasswdBytes = 8 << 20
	if u := userOf(t, load(t, ref, o), "linux/amd64"); u["resolved_uid"] != 1001 {
		t.Errorf("with an 8 MiB cap: user = %v, want UID 1001", u)
	}
}

func TestEntrypoint(t *testing.T) {
	reg := newRegistry(t, nil)
	for _, tc := range []struct {
		name       string
		entrypoint []string
		cmd        []string
		want       any
		fires      bool
	}{
		{"missing entrypoint", nil, []string{"/app/server"}, nil, true},
		{"empty entrypoint", []string{}, nil, nil, true},
		{"tini", []string{"/sbin/tini", "-g", "--"}, nil, map[string]any{"words": []any{"/sbin/tini", "-g", "--"}, "form": "exec", "program": "tini", "via_shell": false}, false},
		{"shell form", []string{"/bin/sh", "-c", "tini -- /app/server"}, nil, map[string]any{"words": []any{"/bin/sh", "-c", "tini -- /app/server"}, "form": "exec", "program": "sh", "via_shell": true}, true},
		{"tini only in cmd", nil, []string{"tini", "--", "/app/server"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := goodConfig()
			cfg.Entrypoint, cfg.Cmd = tc.entrypoint, tc.cmd
			ref := reg.ref("entry/" + strings.ReplaceAll(tc.name, " ", "-") + ":1")
			reg.push(t, ref, image(t, "linux/amd64", cfg, baseLayer(t, compression.ZStd, passwdBase)))
			doc := load(t, ref, reg.options())
			if diff := cmp.Diff(tc.want, platform(t, doc, "linux/amd64")["entrypoint"]); diff != "" {
				t.Errorf("entrypoint (-want +got):\n%s", diff)
			}
			fired := false
			for _, f := range evaluate(t, doc) {
				fired = fired || f.ID == "DWF303"
			}
			if fired != tc.fires {
				t.Errorf("DWF303 fired = %v, want %v", fired, tc.fires)
			}
		})
	}
}

func TestLayerCompression(t *testing.T) {
	reg := newRegistry(t, nil)
	zstdImg := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase), layer(t, compression.ZStd, file{Name: "app/server", Body: "x"}))
	gzipImg := image(t, "linux/arm64", goodConfig(), baseLayer(t, compression.GZip, passwdBase), layer(t, compression.ZStd, file{Name: "app/server", Body: "x"}))
	ref := reg.ref("team/layers:1")
	digest := reg.pushIndex(t, ref, index(t, zstdImg, gzipImg))
	doc := load(t, ref, reg.options())
	summary := func(p string) []string {
		var out []string
		for _, l := range platform(t, doc, p)["layers"].([]any) {
			m := l.(map[string]any)
			out = append(out, m["media_type"].(string)+" "+m["compression"].(string))
			if m["zstd"] != (m["compression"] == "zstd") || m["size"].(int) <= 0 || !strings.HasPrefix(m["digest"].(string), "sha256:") {
				t.Errorf("layer %v is inconsistent", m)
			}
		}
		return out
	}
	if diff := cmp.Diff([]string{
		"application/vnd.oci.image.layer.v1.tar+zstd zstd",
		"application/vnd.oci.image.layer.v1.tar+zstd zstd",
	}, summary("linux/amd64")); diff != "" {
		t.Errorf("linux/amd64 layers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"application/vnd.oci.image.layer.v1.tar+gzip gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd zstd",
	}, summary("linux/arm64")); diff != "" {
		t.Errorf("linux/arm64 layers (-want +got):\n%s", diff)
	}
	want := []finding{{
		ID:      "DWF305",
		Subject: ref + "@" + digest.String() + " (linux/arm64)",
		Msg:     "1 of 2 layers of the linux/arm64 image are not zstd-compressed (gzip); push with `--output type=image,compression=zstd,force-compression=true`.",
	}}
	if diff := cmp.Diff(want, evaluate(t, doc)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestSinglePlatformImage(t *testing.T) {
	reg := newRegistry(t, nil)
	ref := reg.ref("team/single:1")
	digest := reg.push(t, ref, image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)))
	doc := load(t, ref, reg.options())
	if doc["is_index"] != false || doc["digest"] != digest.String() {
		t.Errorf("is_index, digest = %v, %v", doc["is_index"], doc["digest"])
	}
	want := []finding{{
		ID:      "DWF304",
		Subject: ref + "@" + digest.String(),
		Msg:     "The image is a single linux/amd64 image, not an index with linux/amd64 and linux/arm64; build and push every platform with `docker buildx build --platform linux/amd64,linux/arm64`.",
	}}
	if diff := cmp.Diff(want, evaluate(t, doc)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	t.Run("platform filter that does not match", func(t *testing.T) {
		o := reg.options()
		o.Platforms = []string{"linux/arm64"}
		if _, err := Load(context.Background(), ref, o); !errors.Is(err, ErrPlatformNotFound) {
			t.Errorf("err = %v, want ErrPlatformNotFound", err)
		}
	})
	t.Run("skip layers", func(t *testing.T) {
		o := reg.options()
		o.SkipLayers = true
		u := userOf(t, load(t, ref, o), "linux/amd64")
		if u["passwd_checked"] != false || o.Stats.LayersRead.Load() != 0 {
			t.Errorf("SkipLayers read layers: %v", u)
		}
	})
}

func TestRegistryErrors(t *testing.T) {
	status := func(code int) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if code == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				}
				if code == http.StatusUnauthorized || strings.Contains(r.URL.Path, "/manifests/") {
					w.WriteHeader(code)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	for _, tc := range []struct {
		name     string
		wrap     func(http.Handler) http.Handler
		want     error
		msg      string
		requests int64
	}{
		{"401", status(http.StatusUnauthorized), ErrUnauthorized, "unauthorized: check docker login / credentials", 2},
		{"404", nil, ErrNotFound, "not found", 2},
		{"500", status(http.StatusInternalServerError), ErrRegistry, "registry error", 4}, // ping + 3 attempts
		{"503", status(http.StatusServiceUnavailable), ErrRegistry, "503 Service Unavailable", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t, tc.wrap)
			ref := reg.ref("team/missing:1")
			o := reg.options()
			start := time.Now()
			docs, err := Load(context.Background(), ref, o)
			if docs != nil || !errors.Is(err, tc.want) {
				t.Fatalf("Load = %v, %v; want %v", docs, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "loading image "+ref+": ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q should name the reference and say %q", err, tc.msg)
			}
			if got := o.Stats.Requests.Load(); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestSlowRegistry(t *testing.T) {
	reg := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				// Drop the connection: returning would answer an empty
				// 200, which a client still reading (a retry under load)
				// takes for a manifest of no media type.
				panic(http.ErrAbortHandler)
			}
			next.ServeHTTP(w, r)
		})
	})
	ref := reg.ref("team/slow:1")
	o := reg.options()
	o.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Load(context.Background(), ref, o)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("err = %v, want ErrTimeout after 300ms", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s, want about 300ms", d)
	}
}

func TestInsecureRegistries(t *testing.T) {
	// A plain-HTTP registry on loopback: go-containerregistry would fall
	// back to HTTP on its own; only a listed host may.
	srv := newPlainRegistry(t)
	reg := &testRegistry{host: srv, transport: http.DefaultTransport}
	ref := reg.ref("team/app:1")
	o := reg.options()
	o.InsecureRegistries = []string{srv}
	reg.push(t, ref, image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)))

	if _, err := Load(context.Background(), ref, reg.options()); !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "--insecure-registry") {
		t.Errorf("without --insecure-registry: err = %v, want ErrInsecure", err)
	}
	if doc := load(t, ref, o); doc["digest"] == "" {
		t.Error("no digest")
	}

	// The host without its port does not match, and the error and the hint
	// name the exact HOST:PORT instead of the flag the user gave.
	host, _, _ := strings.Cut(srv, ":")
	o.InsecureRegistries = []string{host}
	_, err := Load(context.Background(), ref, o)
	if !errors.Is(err, ErrInsecure) {
		t.Fatalf("--insecure-registry %s: err = %v, want ErrInsecure", host, err)
	}
	want := "`--insecure-registry " + srv + "`"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "names the host without the port") {
		t.Errorf("err = %v, want it to name %s and the missing port", err, want)
	}
	if h := Hint(err, o.Timeout); !strings.Contains(h, want) {
		t.Errorf("hint = %q, want it to name %s", h, want)
	}
}

// TestLocalReferenceHints: a layout or tar file that cannot be loaded gets
// advice about the path, never about registries and credentials; a pinned
// digest the layout does not hold is answered with the digests it holds.
func TestLocalReferenceHints(t *testing.T) {
	img := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	dir := writeLayout(t, nil, []v1.Image{img})
	held, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nope")
	other := "sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		ref, inErr, inHint string
	}{
		{"oci-layout:" + missing, "no such file", "the directory " + missing + " does not exist"},
		{"tarball:" + missing + ".tar", "no such file", "the file " + missing + ".tar does not exist"},
		{"oci-layout:" + empty, "index.json", "has no index.json, so it is not an OCI image layout"},
		{"oci-layout:" + dir + "@" + other, "its index.json lists " + held.String(), "pin one of the digests its index.json lists"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := Load(context.Background(), tc.ref, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.inErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.inErr)
			}
			h := Hint(err, time.Second)
			if !strings.Contains(h, tc.inHint) || strings.Contains(h, "registr") || strings.Contains(h, "credential") {
				t.Errorf("hint = %q, want %q and nothing about registries", h, tc.inHint)
			}
		})
	}
}

// TestLocalPrefix: bare paths of local images are recognised so the
// command line can suggest the prefix instead of asking a registry.
func TestLocalPrefix(t *testing.T) {
	img := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	dir := writeLayout(t, nil, []v1.Image{img})
	tarFile := tarDir(t, dir)
	plain := t.TempDir()
	for path, want := range map[string]string{
		dir:                          "oci-layout:",
		tarFile:                      "tarball:",
		plain:                        "",
		filepath.Join(plain, "nope"): "",
		"ghcr.io/devflow/app:1":      "",
	} {
		if got := LocalPrefix(path); got != want {
			t.Errorf("LocalPrefix(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestRegistryErrorDetailIsReadable: a registry diagnostic's detail is
// never printed as a Go map.
func TestRegistryErrorDetailIsReadable(t *testing.T) {
	terr := &transport.Error{StatusCode: http.StatusNotFound, Errors: []transport.Diagnostic{{
		Code: transport.ManifestUnknownErrorCode, Message: "manifest unknown", Detail: map[string]any{"Tag": "nope", "Name": "team/app"},
	}}}
	o := Options{}
	err := o.wrap(context.Background(), "registry.test/team/app:nope", fmt.Errorf("fetching manifest: %w", terr))
	if strings.Contains(err.Error(), "map[") || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN: manifest unknown (Name=team/app, Tag=nope)") {
		t.Errorf("err = %v", err)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if _, ok := errors.AsType[*transport.Error](err); !ok {
		t.Error("the transport error is no longer in the chain")
	}
}

func TestLocalSources(t *testing.T) {
	cfg := goodConfig()
	cfg.User = "dwfuser"
	withUser := passwdBase + "dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
	amd := image(t, "linux/amd64", cfg, baseLayer(t, compression.GZip, passwdBase), layer(t, compression.ZStd, file{Name: "etc/passwd", Body: withUser}))
	arm := image(t, "linux/arm64", cfg, baseLayer(t, compression.ZStd, withUser))
	idx := index(t, amd, arm)
	idxDigest, _ := idx.Digest()
	amdDigest, _ := amd.Digest()

	check := func(t *testing.T, doc map[string]any, transport string, platforms ...string) {
		t.Helper()
		if doc["transport"] != transport || doc["registry"] != "" || doc["repository"] != "" {
			t.Errorf("transport, registry, repository = %v, %v, %v", doc["transport"], doc["registry"], doc["repository"])
		}
		for _, p := range platforms {
			if u := userOf(t, doc, p); u["resolved_uid"] != 1001 || u["in_passwd"] != true {
				t.Errorf("%s: user = %v, want dwfuser resolved to 1001", p, u)
			}
		}
		if n := len(doc["platforms"].([]any)); n != len(platforms) {
			t.Errorf("%d platforms, want %d", n, len(platforms))
		}
	}

	t.Run("oci-layout with an index", func(t *testing.T) {
		dir := writeLayout(t, idx, nil)
		ref := "oci-layout:" + dir
		doc := load(t, ref, Options{})
		check(t, doc, "oci-layout", "linux/amd64", "linux/arm64")
		if doc["digest"] != idxDigest.String() || doc["is_index"] != true || doc["subject"] != ref+"@"+idxDigest.String() {
			t.Errorf("digest, is_index, subject = %v, %v, %v", doc["digest"], doc["is_index"], doc["subject"])
		}
		if got := ids(evaluate(t, doc)); !cmp.Equal(got, []string{"DWF305"}) {
			t.Errorf("findings = %v, want DWF305 (the gzip base layer)", got)
		}
	})
	t.Run("oci-layout with images at the top", func(t *testing.T) {
		dir := writeLayout(t, nil, []v1.Image{amd, arm})
		doc := load(t, "oci-layout:"+dir, Options{})
		check(t, doc, "oci-layout", "linux/amd64", "linux/arm64")
		if doc["is_index"] != true {
			t.Error("an index.json listing two images is the index")
		}
		// Entries without a stated platform are filtered once their config
		// is read, before any layer is.
		o := Options{Platforms: []string{"linux/arm64"}, Stats: new(Stats)}
		check(t, load(t, "oci-layout:"+dir, o), "oci-layout", "linux/arm64")
		if n := o.Stats.LayersRead.Load(); n != 1 {
			t.Errorf("read %d layers, want 1 (only linux/arm64's)", n)
		}
		pinned := load(t, "oci-layout:"+dir+"@"+amdDigest.String(), Options{})
		check(t, pinned, "oci-layout", "linux/amd64")
		if pinned["digest"] != amdDigest.String() || pinned["is_index"] != false {
			t.Errorf("pinned: digest, is_index = %v, %v", pinned["digest"], pinned["is_index"])
		}
	})
	t.Run("oci-layout pinned to a platform of its index", func(t *testing.T) {
		armDigest, _ := arm.Digest()
		doc := load(t, "oci-layout:"+writeLayout(t, idx, nil)+"@"+armDigest.String(), Options{})
		check(t, doc, "oci-layout", "linux/arm64")
	})
	t.Run("oci-layout tar", func(t *testing.T) {
		file := tarDir(t, writeLayout(t, idx, nil))
		doc := load(t, "tarball:"+file, Options{Platforms: []string{"linux/arm64"}})
		check(t, doc, "tarball", "linux/arm64")
	})
	t.Run("docker save tarball", func(t *testing.T) {
		file := writeDockerSave(t, amd)
		doc := load(t, "tarball:"+file, Options{})
		check(t, doc, "tarball", "linux/amd64")
		cfgDigest, _ := amd.ConfigName()
		p := platform(t, doc, "linux/amd64")
		if doc["digest"] != cfgDigest.String() || p["config_digest"] != cfgDigest.String() {
			t.Errorf("digest = %v, want the image ID %s", doc["digest"], cfgDigest)
		}
		var comps []string
		for _, l := range p["layers"].([]any) {
			comps = append(comps, l.(map[string]any)["compression"].(string))
		}
		if !cmp.Equal(comps, []string{"gzip", "zstd"}) {
			t.Errorf("compressions = %v, want gzip, zstd", comps)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			ref   string
			parse bool // a *document.ParseError, else ErrNotFound
		}{
			{"oci-layout:" + filepath.Join(t.TempDir(), "nope"), false},
			{"tarball:" + filepath.Join(t.TempDir(), "nope.tar"), false},
			{"tarball:" + writeFile(t, "not a tar"), true},
			{"tarball:" + tarDir(t, t.TempDir()), true},
			{"oci-layout:" + writeLayout(t, idx, nil) + "@sha256:" + strings.Repeat("0", 64), false},
		} {
			_, err := Load(context.Background(), tc.ref, Options{})
			var pe *document.ParseError
			if tc.parse && (!errors.As(err, &pe) || pe.Path != tc.ref) {
				t.Errorf("%s: err = %v, want a ParseError for the reference", tc.ref, err)
			}
			if !tc.parse && !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", tc.ref, err)
			}
		}
	})
}

func TestCache(t *testing.T) {
	reg := newRegistry(t, nil)
	cfg := goodConfig()
	cfg.User = "dwfuser"
	withUser := passwdBase + "dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
	idx := index(t,
		image(t, "linux/amd64", cfg, baseLayer(t, compression.ZStd, withUser), layer(t, compression.ZStd, file{Name: "app/server", Body: "x"})),
		image(t, "linux/arm64", cfg, baseLayer(t, compression.ZStd, withUser), layer(t, compression.ZStd, file{Name: "app/server", Body: "x"})),
	)
	ref := reg.ref("team/cached:1")
	digest := reg.pushIndex(t, ref, idx)
	cacheDir := t.TempDir()

	run := func(ref string) (map[string]any, *Stats) {
		o := reg.options()
		o.CacheDir = cacheDir
		return load(t, ref, o), o.Stats
	}
	cold, coldStats := run(ref)
	warm, warmStats := run(ref)
	if diff := cmp.Diff(cold, warm); diff != "" {
		t.Errorf("warm document differs (-cold +warm):\n%s", diff)
	}
	// Cold: ping, index, 2 manifests, 2 configs, 2 layers (the top layer
	// has no passwd, the base layer does) per platform.
	if got := coldStats.Requests.Load(); got != 10 {
		t.Errorf("cold run: %d requests, want 10", got)
	}
	// Warm: the tag must still be resolved (ping and index); everything
	// addressed by digest comes from the cache.
	if got := warmStats.Requests.Load(); got != 2 {
		t.Errorf("warm run: %d requests, want 2", got)
	}
	if got := warmStats.LayersRead.Load(); got != 0 {
		t.Errorf("warm run read %d layers", got)
	}
	t.Logf("cold: %d requests, %d layers; warm: %d requests, %d cache hits",
		coldStats.Requests.Load(), coldStats.LayersRead.Load(), warmStats.Requests.Load(), warmStats.CacheHits.Load())

	// By digest, nothing is asked of the registry.
	byDigest := reg.ref("team/cached@" + digest.String())
	if _, s := run(byDigest); s.Requests.Load() != 0 {
		t.Errorf("warm run by digest: %d requests, want 0", s.Requests.Load())
	}

	// Corrupt entries are ignored and rewritten.
	err := filepath.WalkDir(filepath.Join(cacheDir, cacheFormat), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.WriteFile(p, []byte("{garbage"), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	again, s := run(ref)
	if diff := cmp.Diff(cold, again); diff != "" {
		t.Errorf("document after corruption differs (-cold +got):\n%s", diff)
	}
	if s.Requests.Load() != 10 {
		t.Errorf("with a corrupt cache: %d requests, want 10 as cold", s.Requests.Load())
	}
	if _, s := run(ref); s.Requests.Load() != 2 {
		t.Errorf("after repair: %d requests, want 2", s.Requests.Load())
	}
}

func TestConcurrentLoads(t *testing.T) {
	reg := newRegistry(t, nil)
	ref := reg.ref("team/app:1")
	reg.pushIndex(t, ref, index(t,
		image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)),
		image(t, "linux/arm64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)),
		image(t, "linux/arm/v7", goodConfig(), baseLayer(t, compression.ZStd, passwdBase)),
	))
	cacheDir := t.TempDir()
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			o := reg.options()
			o.CacheDir = cacheDir
			o.Concurrency = 2
			_, err := Load(context.Background(), ref, o)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestArtifacts(t *testing.T) {
	reg := newRegistry(t, nil)
	amd := image(t, "linux/amd64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	arm := image(t, "linux/arm64", goodConfig(), baseLayer(t, compression.ZStd, passwdBase))
	sbom := mutate.ConfigMediaType(image(t, "linux/amd64", v1.Config{}), "application/vnd.example.sbom+json")
	idx := mutate.AppendManifests(index(t, amd, arm), mutate.IndexAddendum{Add: sbom})
	ref := reg.ref("team/app:with-artifact")
	reg.pushIndex(t, ref, idx)
	doc := load(t, ref, reg.options())
	if n, m := len(doc["platforms"].([]any)), len(doc["index_platforms"].([]any)); n != 2 || m != 2 {
		t.Errorf("%d platforms and %d index platforms, want 2 and 2 without the artifact", n, m)
	}

	artifactRef := reg.ref("team/sbom:1")
	reg.push(t, artifactRef, sbom)
	_, err := Load(context.Background(), artifactRef, reg.options())
	var pe *document.ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "not a container image") {
		t.Errorf("err = %v, want a ParseError saying it is not a container image", err)
	}
}
