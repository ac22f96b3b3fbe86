package image

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryAfter: a registry that answers 429 or 503 with a Retry-After
// longer than the retries' backoff is asked once per Load, not once per
// retry, and the error is the registry's own; without the header, or with
// a wait already over, the retries go out as before.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		requests   int64
	}{
		{"429 with seconds", http.StatusTooManyRequests, "30", 1},
		{"503 with a date", http.StatusServiceUnavailable, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 1},
		{"429 without", http.StatusTooManyRequests, "", 3},
		{"429 with 0", http.StatusTooManyRequests, "0", 3},
		{"429 with a past date", http.StatusTooManyRequests, "Mon, 02 Jan 2006 15:04:05 GMT", 3},
		{"429 with garbage", http.StatusTooManyRequests, "soon", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var manifests atomic.Int64
			reg := newRegistry(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !strings.Contains(r.URL.Path, "/manifests/") {
						next.ServeHTTP(w, r)
						return
					}
					manifests.Add(1)
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.status)
					w.Write([]byte(`{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`))
				})
			})
			o := reg.options()
			o.Retries = 2
			_, err := Load(context.Background(), reg.ref("team/app:1"), o)
			if !errors.Is(err, ErrRegistry) || !strings.Contains(err.Error(), "TOOMANYREQUESTS: slow down") {
				t.Errorf("err = %v, want ErrRegistry with the registry's words", err)
			}
			if n := manifests.Load(); n != tc.requests {
				t.Errorf("the registry was asked %d times, want %d", n, tc.requests)
			}
		})
	}
}
