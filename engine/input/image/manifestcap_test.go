package image

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOversizedManifest: a registry answering a manifest request with more
// than 4 MiB (real ones are a few KiB) is cut off at the cap, with or
// without a Content-Length, and the error says so rather than reading up
// to go-containerregistry's own 100 MiB limit.
func TestOversizedManifest(t *testing.T) {
	big := append([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]`), bytes.Repeat([]byte(" "), maxManifestBytes)...)
	big = append(big, '}')
	for _, withLength := range []bool{true, false} {
		t.Run("Content-Length "+strconv.FormatBool(withLength), func(t *testing.T) {
			var sent atomic.Int64
			reg := newRegistry(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !strings.Contains(r.URL.Path, "/manifests/") {
						next.ServeHTTP(w, r)
						return
					}
					w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
					if withLength {
						w.Header().Set("Content-Length", strconv.Itoa(len(big)))
					}
					if r.Method == http.MethodHead {
						return
					}
					for off := 0; off < len(big); off += 64 << 10 {
						n, err := w.Write(big[off:min(off+64<<10, len(big))])
						sent.Add(int64(n))
						if err != nil {
							return
						}
						w.(http.Flusher).Flush()
					}
				})
			})
			o := reg.options()
			o.Retries = -1
			for name, fetch := range map[string]func() error{
				"Load":          func() error { _, err := Load(context.Background(), reg.ref("team/big:1"), o); return err },
				"FetchManifest": func() error { _, _, err := FetchManifest(context.Background(), reg.ref("team/big:1"), o); return err },
			} {
				err := fetch()
				if err == nil || !strings.Contains(err.Error(), "manifest larger than 4194304 bytes") {
					t.Errorf("%s: err = %v, want the manifest cap named", name, err)
				}
			}
		})
	}
}
