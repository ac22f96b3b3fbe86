package image

import (
	"context"
	"errors"
	"fmt"
	"github.com/devflow/dwf-policy/internal/imagetest"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// realRegistry is the docker-registry the test setup started.
func realRegistry(t *testing.T) string {
	return imagetest.RealRegistry(t, "./engine/input/image")
}

// TestIntegrationRegistry pushes images to a real registry (Debian's
// docker-registry, plain HTTP on loopback) with go-containerregistry and
// checks them through Load and the image rules.
func TestIntegrationRegistry(t *testing.T) {
	addr := realRegistry(t)
	repo := fmt.Sprintf("%s/dwf-it/app-%d", addr, time.Now().UnixNano())
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
	opts := func(cacheDir string) Options {
		return Options{
			InsecureRegistries: []string{addr},
			Keychain:           authn.NewMultiKeychain(),
			CacheDir:           cacheDir,
			RetryDelay:         10 * time.Millisecond,
			Stats:              new(Stats),
		}
	}

	cfg := goodConfig()
	cfg.User = "dwfuser"
	passwd := passwdBase + "dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
	good := index(t,
		image(t, "linux/amd64", cfg, baseLayer(t, compression.ZStd, passwd), layer(t, compression.ZStd, file{Name: "app/server", Body: "amd64"})),
		image(t, "linux/arm64", cfg, baseLayer(t, compression.ZStd, passwd), layer(t, compression.ZStd, file{Name: "app/server", Body: "arm64"})),
	)
	goodRef := repo + ":good"
	push(goodRef, func(r name.Reference) error { return remote.WriteIndex(r, good) })

	rootCfg := goodConfig()
	rootCfg.User = ""
	bad := image(t, "linux/amd64", rootCfg, baseLayer(t, compression.GZip, passwdBase))
	badRef := repo + ":bad"
	push(badRef, func(r name.Reference) error { return remote.Write(r, bad) })

	t.Run("compliant index, cold and warm", func(t *testing.T) {
		cacheDir := t.TempDir()
		o := opts(cacheDir)
		start := time.Now()
		cold := load(t, goodRef, o)
		coldTime := time.Since(start)
		if got := evaluate(t, cold); len(got) != 0 {
			t.Errorf("findings: %v", got)
		}
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			if u := userOf(t, cold, p); u["resolved_uid"] != 1001 {
				t.Errorf("%s: user = %v", p, u)
			}
		}
		w := opts(cacheDir)
		start = time.Now()
		warm := load(t, goodRef, w)
		warmTime := time.Since(start)
		if warm["digest"] != cold["digest"] {
			t.Errorf("digests differ: %v, %v", cold["digest"], warm["digest"])
		}
		// The ping tries HTTPS first, as Docker does for an insecure
		// registry, then HTTP; blobs are served by the registry itself.
		// Cold: 2 pings, index, 2 manifests, 2 configs, 4 layers; warm: 2
		// pings and the index.
		if c, w := o.Stats.Requests.Load(), w.Stats.Requests.Load(); c != 11 || w != 3 {
			t.Errorf("requests cold %d, warm %d; want 11 and 3", c, w)
		}
		t.Logf("2-platform index from docker-registry: cold %s (%d requests, %d layers read), warm %s (%d requests)",
			coldTime.Round(time.Microsecond), o.Stats.Requests.Load(), o.Stats.LayersRead.Load(), warmTime.Round(time.Microsecond), w.Stats.Requests.Load())
	})
	t.Run("non-compliant image", func(t *testing.T) {
		got := ids(evaluate(t, load(t, badRef, opts(""))))
		if want := []string{"DWF301", "DWF304", "DWF305"}; !equalStrings(got, want) {
			t.Errorf("findings = %v, want %v", got, want)
		}
	})
	t.Run("missing tag", func(t *testing.T) {
		if _, err := Load(context.Background(), repo+":nope", opts("")); !errors.Is(err, ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("plain HTTP needs --insecure-registry", func(t *testing.T) {
		o := opts("")
		o.InsecureRegistries = nil
		o.Transport = http.DefaultTransport
		if _, err := Load(context.Background(), goodRef, o); !errors.Is(err, ErrInsecure) {
			t.Errorf("err = %v, want ErrInsecure", err)
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
