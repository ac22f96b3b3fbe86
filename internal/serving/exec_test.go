package serving_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback address nothing listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDwfPolicyServeRunsTheServerProgram builds both binaries side by side,
// as `make build` and the release image place them, and runs `dwf-policy
// serve`: the process becomes dwf-policy-server (same process ID), serves,
// and stops cleanly on SIGTERM.
func TestDwfPolicyServeRunsTheServerProgram(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := t.TempDir()
	for _, name := range []string{"dwf-policy", "dwf-policy-server"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, name), "../../cmd/"+name)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	upstream := httptest.NewServer(http.NotFoundHandler())
	defer upstream.Close()
	listen, gate := freePort(t), freePort(t)
	var stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "dwf-policy"), "serve", "--listen", listen, "--gate-listen", gate, "--registry-gate", upstream.URL, "--no-cache")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir()) // found beside dwf-policy, not on PATH
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited (%v): %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("serve did not become ready: %s", stderr.String())
		}
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
	if err != nil || filepath.Base(exe) != "dwf-policy-server" {
		t.Errorf("serving process runs %q (%v), want dwf-policy-server", exe, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(stderr.String(), "registry gate serving") {
		t.Errorf("no startup log: %s", stderr.String())
	}
}
