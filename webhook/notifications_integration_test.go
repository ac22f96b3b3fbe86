package webhook_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// readmeRegistryConfig is the docker-registry configuration the README
// shows, after `<!-- snippet: registry-config -->`.
func readmeRegistryConfig(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "<!-- snippet: registry-config -->\n```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no registry-config yaml snippet")
	}
	return block
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestIntegrationRegistryNotifications starts Debian's docker-registry with
// the README's configuration, notifications pointed at the gate, and checks
// that an image pushed around the gate is judged from the registry's own
// event.
func TestIntegrationRegistryNotifications(t *testing.T) {
	imagetest.RealRegistry(t, "./webhook") // the same rule: runs where the registry does, fails in CI without it
	regAddr := freePort(t)
	g := startGate(t, "http://"+regAddr, registrygate.Options{})

	dir := t.TempDir()
	cfg := readmeRegistryConfig(t)
	for old, repl := range map[string]string{
		"/var/lib/docker-registry": filepath.Join(dir, "storage"),
		"127.0.0.1:5000":           regAddr,
		"https://gate.example.internal:8443/registry/events": "http://" + g.main + "/registry/events",
		"CHANGE-ME-to-a-long-random-token":                   eventsToken,
		"backoff: 5s":                                        "backoff: 100ms",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("the README's registry config no longer contains %q", old)
		}
		cfg = strings.ReplaceAll(cfg, old, repl)
	}
	runDockerRegistry(t, cfg, regAddr)

	repo := fmt.Sprintf("events/app-%d", time.Now().UnixNano())
	img := unique(t, "")
	if err := remote.Write(ref(t, regAddr+"/"+repo+":around-the-gate"), img); err != nil {
		t.Fatal(err)
	}
	d := digestOf(t, img).String()
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+g.main+"/registry/verdicts/"+repo+"@"+d, nil)
		req.Header.Set("Authorization", "Bearer "+eventsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if !strings.Contains(string(b), `"compliant": false`) || !strings.Contains(string(b), "DWF301") || !strings.Contains(string(b), `"judged_by": "event"`) {
				t.Errorf("verdict = %s, want non-compliant (DWF301) from the event", b)
			}
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no verdict 30s after the push: %s", b)
		}
	}
	// The event's verdict now refuses pulls through the gate.
	if _, err := remote.Get(ref(t, g.addr+"/"+repo+"@"+d)); err == nil {
		t.Error("pull through the gate of an image judged by event succeeded")
	}
}
