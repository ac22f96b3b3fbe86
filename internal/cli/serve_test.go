package cli

import (
	"strings"
	"testing"
)

func TestServeHelpExplainsEveryFlag(t *testing.T) {
	out, _, code := run(t, t.TempDir(), "serve", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--listen", "--tls-cert", "--tls-key", "--registry-gate", "--gate-listen", "--mode", "--on-error",
		"--fail-on", "--events-token-file", "--gate-exempt", "--gate-only", "--max-manifest-size", "--timeout", "--insecure-registry",
		"--config", "--policy", "--verification-key", "--log-level", "--client-ca", "--admission", "--exempt-namespace", "--allowed-registry", "--pull-secrets", "--docker-config", "--policy-reload", "--rule-mode", "/validate", "webhook:", "~/.docker/config.json",
		"--reconcile-interval", "--reconcile-repository", "--reconcile-catalog", "--reconcile-rate"} {
		if !strings.Contains(out, flag) {
			t.Errorf("serve --help does not mention %s", flag)
		}
	}
	if !strings.Contains(out, "give up judging one image after this long") || !strings.Contains(out, "(default 30s)") {
		t.Errorf("serve --help does not explain its own --timeout:\n%s", out)
	}
}

// TestServeChecksFlagsThenNeedsTheServerProgram: without Command.Serve (the
// dwf-policy binary), serve checks its flags itself, so a mistake is
// reported the same whichever binary runs, and then hands over to
// dwf-policy-server; when that program is nowhere to be found, the error
// says how to get it.
func TestServeChecksFlagsThenNeedsTheServerProgram(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no dwf-policy-server on PATH, nor beside the test binary
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--admission=false"}, "nothing to serve"},
		{[]string{"serve", "--rule-mode", "DWF603=loud"}, "--rule-mode"},
		{[]string{"serve", "--registry-gate", "http://127.0.0.1:5000", "--mode", "loud"}, "--mode"},
		{[]string{"serve", "--listen", "127.0.0.1:0"}, "serve runs dwf-policy-server, which is neither beside this binary nor on PATH"},
	} {
		_, stderr, code := run(t, t.TempDir(), tc.args...)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tc.args, code, stderr, tc.want)
		}
	}
}
