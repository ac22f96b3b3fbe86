package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestServeHelpExplainsEveryFlag(t *testing.T) {
	out, _, code := run(t, t.TempDir(), "serve", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--listen", "--tls-cert", "--tls-key", "--registry-gate", "--gate-listen", "--mode", "--on-error",
		"--fail-on", "--events-token-file", "--gate-exempt", "--gate-only", "--max-manifest-size", "--timeout", "--insecure-registry",
		"--config", "--policy", "--verification-key", "--log-level"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help does not mention %s", flag)
		}
	}
	if !strings.Contains(out, "give up judging one image after this long") || !strings.Contains(out, "(default 30s)") {
		t.Errorf("serve --help does not explain its own --timeout:\n%s", out)
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--registry-gate"},
		{[]string{"serve", "--registry-gate", "ftp://x"}, "--registry-gate"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--mode", "loud"}, "--mode"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--on-error", "maybe"}, "--on-error"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--fail-on", "none"}, "--fail-on"},
		// Plain HTTP beyond loopback is refused before anything listens.
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--listen", "0.0.0.0:0"}, "loopback"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--listen", "127.0.0.1:0", "--gate-listen", ":0"}, "--gate-listen"},
	} {
		_, stderr, code := run(t, t.TempDir(), tc.args...)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tc.args, code, stderr, tc.want)
		}
	}
}

// TestServeRunsUntilCancelled serves a gate in-process and stops it as a
// signal would.
func TestServeRunsUntilCancelled(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		io.WriteString(w, "{}")
	}))
	defer upstream.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	var stderr syncBuffer
	c := Command{Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(m, g string) { addrs <- [2]string{m, g} }}
	done := make(chan int, 1)
	go func() {
		done <- c.Main(ctx, []string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--gate-listen", "127.0.0.1:0", "--registry-gate", upstream.URL, "--no-cache"})
	}()
	var a [2]string
	select {
	case a = <-addrs:
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not become ready")
	}
	for _, u := range []string{"http://" + a[0] + "/readyz", "http://" + a[1] + "/v2/"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d after shutdown, want 0: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), "registry gate serving") {
		t.Errorf("no startup log on stderr: %s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeStopsCleanlyOnSignal: SIGTERM is how a server is stopped; it
// drains and exits 0 instead of reporting an interrupted run.
func TestServeStopsCleanlyOnSignal(t *testing.T) {
	upstream := httptest.NewServer(http.NotFoundHandler())
	defer upstream.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	ready := make(chan struct{})
	var stderr syncBuffer
	c := Command{Stdout: io.Discard, Stderr: &stderr, WorkDir: t.TempDir(), Listening: func(string, string) { close(ready) }}
	done := make(chan int, 1)
	go func() {
		done <- c.Main(ctx, []string{"dwf-policy", "serve", "--listen", "127.0.0.1:0", "--gate-listen", "127.0.0.1:0", "--registry-gate", upstream.URL, "--no-cache"})
	}()
	<-ready
	cancel(Interrupted{Signal: syscall.SIGTERM})
	if code := <-done; code != ExitOK || strings.Contains(stderr.String(), "partial") {
		t.Errorf("exit %d, stderr %q; want 0 and no partial-report warning", code, stderr.String())
	}
}
