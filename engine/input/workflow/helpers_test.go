package workflow

import (
	"testing"
)

func TestRunsDaily(t *testing.T) {
	for cron, want := range map[string]bool{
		"0 3 * * *":             true,
		"*/15 * * * *":          true,
		"0 * * * *":             true,
		"0 3,15 * * *":          true,
		"30 2 * * SUN-SAT":      true,
		"30 2 * * 0-6":          true,
		"30 2 * * 1-7":          true,
		"0 0 * * 0,1,2,3,4,5,6": true,
		"0 3 1-31 * *":          true,
		"0 3 */1 * *":           true,
		"0 3 1-31 * 1":          true, // both restricted: dom or dow, dom covers all
		"0 3 * * 1":             false,
		"0 3 * * 1-5":           false,
		"0 3 */2 * *":           false,
		"0 0 1 * *":             false,
		"0 3 * 1-6 *":           false,
		"0 3 * JAN *":           false,
		"0 3 1 * 1":             false,
		"0 3 * *":               false,
		"bogus":                 false,
		"60 3 * * *":            false,
		"0 3 * * 8":             false,
	} {
		if got := runsDaily(cron); got != want {
			t.Errorf("runsDaily(%q) = %v, want %v", cron, got, want)
		}
	}
}

func TestParseUses(t *testing.T) {
	for in, want := range map[string]usesRef{
		"actions/checkout@v4": {kind: "remote", owner: "actions", repo: "checkout", ref: "v4", refKind: "tag"},
		"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683":   {kind: "remote", owner: "actions", repo: "checkout", ref: "11bd71901bbe5b1630ceea73d27597364c9af683", refKind: "sha"},
		"actions/checkout@11bd719":                                    {kind: "remote", owner: "actions", repo: "checkout", ref: "11bd719", refKind: "short_sha"},
		"actions/checkout@1234567":                                    {kind: "remote", owner: "actions", repo: "checkout", ref: "1234567", refKind: "tag"},
		"actions/checkout@main":                                       {kind: "remote", owner: "actions", repo: "checkout", ref: "main", refKind: "branch"},
		"actions/checkout@release/v2":                                 {kind: "remote", owner: "actions", repo: "checkout", ref: "release/v2", refKind: "branch"},
		"aquasecurity/trivy-action@0.28.0":                            {kind: "remote", owner: "aquasecurity", repo: "trivy-action", ref: "0.28.0", refKind: "tag"},
		"github/codeql-action/upload-sarif@v3.1.0-rc1":                {kind: "remote", owner: "github", repo: "codeql-action", path: "upload-sarif", ref: "v3.1.0-rc1", refKind: "tag"},
		"acme/wf/.github/workflows/build.yml@v1":                      {kind: "remote", owner: "acme", repo: "wf", path: ".github/workflows/build.yml", ref: "v1", refKind: "tag"},
		"acme/action":                                                 {kind: "remote", owner: "acme", repo: "action", refKind: "none"},
		"./.github/actions/x":                                         {kind: "local", path: "./.github/actions/x", refKind: "none"},
		"$/.github/actions/x":                                         {kind: "local", path: "$/.github/actions/x", refKind: "none"},
		"$/.github/workflows/x.yml":                                   {kind: "local", path: "$/.github/workflows/x.yml", refKind: "none"},
		"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n": {kind: "remote", owner: "actions", repo: "checkout", ref: "11bd71901bbe5b1630ceea73d27597364c9af683", refKind: "sha"},
		"  actions/checkout@v4 \n":                                    {kind: "remote", owner: "actions", repo: "checkout", ref: "v4", refKind: "tag"},
		"docker://alpine:3.20":                                        {kind: "docker", image: "alpine", ref: "3.20", refKind: "tag"},
		"docker://localhost:5000/tool":                                {kind: "docker", image: "localhost:5000/tool", refKind: "none"},
		"docker://alpine@sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5": {kind: "docker", image: "alpine", ref: "sha256:0a4eaa0eecf5f8c050e5bba433f58c052be7587ee8af3e8b3910ef9ab5fbe9f5", refKind: "digest"},
	} {
		if got := parseUses(in); got != want {
			t.Errorf("parseUses(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestAlwaysFalse(t *testing.T) {
	for cond, want := range map[string]bool{
		"false":                                true,
		"${{ false }}":                         true,
		"  ${{ false }}  ":                     true,
		"0":                                    true,
		"''":                                   true,
		"null":                                 true,
		"!true":                                true,
		"${{ !(1 == 1) }}":                     true,
		"false && github.event_name == 'push'": true,
		"github.event_name == 'push' && false": true,
		"${{ false || 0 }}":                    true,
		"'a' == 'b'":                           true,
		"true":                                 false,
		"always()":                             false,
		"success() && false || true":           false,
		"github.ref == 'refs/heads/main'":      false,
		"${{ false }} && true":                 false, // text around an expression is a non-empty string
		"'false'":                              false, // a non-empty string is truthy
		"${{ inputs.run }}":                    false,
		"":                                     false,
		"${{ (( }}":                            false,
		"'A' == 'a'":                           false, // GitHub compares strings case-insensitively
	} {
		if got := alwaysFalse(cond); got != want {
			t.Errorf("alwaysFalse(%q) = %v, want %v", cond, got, want)
		}
	}
}

func TestResolveShell(t *testing.T) {
	for _, tc := range []struct {
		value, source              string
		windows                    bool
		name, command              string
		errexit, pipefail, support bool
	}{
		{"", "default", false, "bash", "bash -e {0}", true, false, true},
		{"", "default", true, "pwsh", `pwsh -command ". '{0}'"`, false, false, false},
		{"bash", "step", false, "bash", "bash --noprofile --norc -eo pipefail {0}", true, true, true},
		{"sh", "job", false, "sh", "sh -e {0}", true, false, true},
		{"bash {0}", "step", false, "bash", "bash {0}", false, false, true},
		{"bash -l {0}", "step", false, "bash", "bash -l {0}", false, false, true},
		{"bash -leo pipefail {0}", "workflow", false, "bash", "bash -leo pipefail {0}", true, true, true},
		{"/bin/bash -e -o pipefail {0}", "step", false, "bash", "/bin/bash -e -o pipefail {0}", true, true, true},
		{"bash --noprofile --norc {0}", "step", false, "bash", "bash --noprofile --norc {0}", false, false, true},
		{"pwsh", "step", false, "pwsh", `pwsh -command ". '{0}'"`, false, false, false},
		{"python", "step", false, "python", "python {0}", false, false, false},
		{"perl {0}", "step", false, "perl", "perl {0}", false, false, false},
		{"${{ matrix.shell }}", "step", false, "${{ matrix.shell }}", "${{ matrix.shell }}", false, false, false},
	} {
		s := resolveShell(tc.value, tc.source, nil, tc.windows)
		if s.name != tc.name || s.command != tc.command || s.errexit != tc.errexit || s.pipefail != tc.pipefail || s.supported != tc.support || s.source != tc.source {
			t.Errorf("resolveShell(%q) = %+v", tc.value, s)
		}
	}
}

func TestWindowsRunnerDefaultsToPwsh(t *testing.T) {
	src := "on: push\njobs:\n  a:\n    runs-on: [self-hosted, windows-2022]\n    steps:\n      - run: trivy image app || exit 0\n"
	doc := scans(t, src, Options{})
	if len(doc) != 0 {
		t.Errorf("a pwsh script was analysed as bash: %v", doc)
	}
}

func TestMaskExpressions(t *testing.T) {
	for in, want := range map[string]string{
		"a ${{ x }} b":             "a ________ b",
		"${{ format('{0}}', x) }}": "________________________",
		"${{ a }}${{ b }}":         "________________",
		"${{ a\n}} x":              "_____\n__ x",
		"${{ unterminated":         "________________",
		"no expressions":           "no expressions",
	} {
		if got := maskExpressions(in); got != want || len(got) != len(in) {
			t.Errorf("maskExpressions(%q) = %q, want %q", in, got, want)
		}
	}
}
