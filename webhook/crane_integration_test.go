package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/devflow/dwf-policy/internal/imagetest"
	"github.com/devflow/dwf-policy/webhook/registrygate"
)

// craneRunner runs the crane binary with a private home (no Docker
// config, no credential helpers) and no proxy.
type craneRunner struct {
	bin, home string
}

func newCrane(t *testing.T) craneRunner {
	t.Helper()
	return craneRunner{bin: imagetest.Crane(t), home: t.TempDir()}
}

// run returns crane's standard output and error, and its error.
func (c craneRunner) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--insecure"}, args...)...)
	cmd.Env = []string{"HOME=" + c.home, "DOCKER_CONFIG=" + filepath.Join(c.home, ".docker"), "PATH=/usr/bin:/bin"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// imageTarball writes img as the docker-style tarball crane push reads,
// and returns its path and the digest of the image crane pushes from it
// (a tarball holds no manifest: crane writes one of its own).
func imageTarball(t *testing.T, img v1.Image) (string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(p, ref(t, "example.test/image:tar"), img); err != nil {
		t.Fatal(err)
	}
	read, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, digestOf(t, read).String()
}

// TestIntegrationGateCrane drives the crane binary through the gate in
// front of the real docker-registry: push, pull and copy of a compliant
// image pass; a root image's push is refused with DENIED and the rule,
// printed by crane, and nothing lands upstream.
func TestIntegrationGateCrane(t *testing.T) {
	crane := newCrane(t)
	upstream := imagetest.RealRegistry(t, "./webhook")
	g := startGate(t, "http://"+upstream, registrygate.Options{})
	repo := fmt.Sprintf("crane/app-%d", time.Now().UnixNano())
	at := func(host, tag string) string { return host + "/" + repo + ":" + tag }

	if v, _, err := crane.run(t, "version"); err != nil || strings.TrimSpace(v) != imagetest.CraneVersion {
		t.Fatalf("crane version = %q, %v; want %s", v, err, imagetest.CraneVersion)
	}

	good := unique(t, "1001")
	t.Run("push, pull and copy of a compliant image", func(t *testing.T) {
		tar, want := imageTarball(t, good)
		out, stderr, err := crane.run(t, "push", tar, at(g.addr, "good"))
		if err != nil {
			t.Fatalf("crane push: %v\n%s", err, stderr)
		}
		if !strings.Contains(out, want) {
			t.Errorf("crane push printed %q, want the digest %s", out, want)
		}
		dir := filepath.Join(t.TempDir(), "pulled")
		if _, stderr, err := crane.run(t, "pull", "--format", "oci", at(g.addr, "good"), dir); err != nil {
			t.Fatalf("crane pull: %v\n%s", err, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
			t.Errorf("crane pull wrote no OCI layout: %v", err)
		}
		if _, stderr, err := crane.run(t, "copy", at(g.addr, "good"), at(g.addr, "copied")); err != nil {
			t.Fatalf("crane copy: %v\n%s", err, stderr)
		}
		d, stderr, err := crane.run(t, "digest", at(upstream, "copied"))
		if err != nil || strings.TrimSpace(d) != want {
			t.Errorf("the copy upstream has digest %q (%v %s), want %s", d, err, stderr, want)
		}
	})

	t.Run("a root image's push is refused with DENIED and the rule", func(t *testing.T) {
		root := unique(t, "")
		tar, digest := imageTarball(t, root)
		_, stderr, err := crane.run(t, "push", tar, at(g.addr, "root"))
		if err == nil {
			t.Fatal("crane push of a root image succeeded")
		}
		for _, want := range []string{"DENIED", "DWF301", "USER 1001", digest} {
			if !strings.Contains(stderr, want) {
				t.Errorf("crane's error lacks %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stderr, upstream) {
			t.Errorf("crane's error names the upstream registry's address:\n%s", stderr)
		}
		if _, err := remote.Head(ref(t, at(upstream, "root"))); err == nil {
			t.Error("the refused manifest is in the registry")
		}
		// A copy into the gate is judged the same way.
		if err := remote.Write(ref(t, at(upstream, "sneaked")), root); err != nil {
			t.Fatal(err)
		}
		_, stderr, err = crane.run(t, "copy", at(g.addr, "sneaked"), at(g.addr, "copied-root"))
		if err == nil || !strings.Contains(stderr, "DENIED") || !strings.Contains(stderr, "DWF301") {
			t.Errorf("crane copy of a root image through the gate: %v\n%s; want DENIED naming DWF301", err, stderr)
		}
	})
}
