package check

import "testing"

// TestImageURI: the SARIF URI of an image finding with no Dockerfile line.
func TestImageURI(t *testing.T) {
	files := func(p string) string { return "repo/" + p }
	for ref, want := range map[string]string{
		"ghcr.io/devflow/app:1.4.2":                 "ghcr.io/devflow/app:1.4.2",
		"ghcr.io/devflow/app:1.4.2@sha256:" + hex64: "ghcr.io/devflow/app:1.4.2",
		"ghcr.io/devflow/app@sha256:" + hex64:       "ghcr.io/devflow/app",
		"localhost:5000/app":                        "localhost:5000/app",
		"oci-layout:out/app":                        "repo/out/app",
		"oci-layout:out/app@sha256:" + hex64:        "repo/out/app",
		"tarball:dist/app.tar":                      "repo/dist/app.tar",
	} {
		if got := imageURI(ref, files); got != want {
			t.Errorf("imageURI(%q) = %q, want %q", ref, got, want)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
