package image

import (
	"context"
	"crypto/rand"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BenchmarkLoad checks a 2-platform index (a 4 MiB base layer holding
// /etc/passwd, an app layer on top, USER dwfuser so the user is resolved
// from the layers) from the in-process registry over HTTPS: cold with no
// cache, and warm with a filled cache directory.
func BenchmarkLoad(b *testing.B) {
	reg := newRegistry(b, nil)
	cfg := goodConfig()
	cfg.User = "dwfuser"
	passwd := passwdBase + "dwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"
	blob := make([]byte, 4<<20)
	if _, err := rand.Read(blob); err != nil {
		b.Fatal(err)
	}
	img := func(p string) v1.Image {
		return image(b, p, cfg,
			layer(b, compression.ZStd, dir("etc"), file{Name: "etc/passwd", Body: passwd}, file{Name: "usr/lib/libbig.so", Body: string(blob)}),
			layer(b, compression.ZStd, file{Name: "app/server", Body: p}),
		)
	}
	ref := reg.ref("bench/app:1")
	reg.pushIndex(b, ref, index(b, img("linux/amd64"), img("linux/arm64")))

	run := func(b *testing.B, cacheDir string) {
		var requests, layers int64
		b.ResetTimer()
		for b.Loop() {
			o := reg.options()
			o.CacheDir = cacheDir
			if _, err := Load(context.Background(), ref, o); err != nil {
				b.Fatal(err)
			}
			requests += o.Stats.Requests.Load()
			layers += o.Stats.LayersRead.Load()
		}
		b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		b.ReportMetric(float64(layers)/float64(b.N), "layers/op")
	}
	b.Run("cold", func(b *testing.B) { run(b, "") })
	b.Run("warm", func(b *testing.B) {
		dir, err := os.MkdirTemp("", "dwf-image-cache-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		o := reg.options()
		o.CacheDir = dir
		if _, err := Load(context.Background(), ref, o); err != nil {
			b.Fatal(err)
		}
		run(b, dir)
	})
}
