package trivycli

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// render parses a command line (words separated by spaces; a word starting
// with ? is not known statically) and prints the call.
func render(cmd string) string {
	var args []Arg
	for _, w := range strings.Fields(cmd) {
		known := !strings.HasPrefix(w, "?")
		args = append(args, Arg{Text: strings.TrimPrefix(w, "?"), Known: known})
	}
	c := Parse(args)
	if c == nil {
		return "not a scan"
	}
	out := []string{c.Subcommand + "(" + c.RawSubcommand + ")"}
	if c.Target >= 0 {
		out = append(out, "target="+args[c.Target].Text)
	}
	var names []string
	for n := range c.Flags {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, f := range c.Flags[n] {
			switch {
			case f.Value < 0:
				out = append(out, "--"+n)
			default:
				out = append(out, fmt.Sprintf("--%s=%s", n, args[f.Value].Text[f.Offset:]))
			}
		}
	}
	return strings.Join(out, " ")
}

func TestParse(t *testing.T) {
	for cmd, want := range map[string]string{
		"image app":                                     "image(image) target=app",
		"i --exit-code 1 -s HIGH,CRITICAL app":          "image(i) target=app --exit-code=1 --severity=HIGH,CRITICAL",
		"fs --exit-code=2 --severity=CRITICAL .":        "filesystem(fs) target=. --exit-code=2 --severity=CRITICAL",
		"repo -sCRITICAL -f=json https://x/y":           "repository(repo) target=https://x/y --format=json --severity=CRITICAL",
		"--cache-dir /tmp/c --quiet k8s cluster":        "kubernetes(k8s) target=cluster --cache-dir=/tmp/c --quiet",
		"image --scanners vuln --security-checks x app": "image(image) target=app --scanners=vuln --security-checks=x",
		"image -- app":                                  "image(image) target=app",
		"config --config trivy.yaml .":                  "config(config) target=. --config=trivy.yaml",
		"--version":                                     "not a scan",
		"-v":                                            "not a scan",
		"image --help":                                  "not a scan",
		"image --download-db-only":                      "not a scan",
		"server --listen 0.0.0.0":                       "not a scan",
		"?$SUB app":                                     "not a scan",
		"":                                              "not a scan",
		"image ?$IMAGE":                                 "image(image) target=$IMAGE",
	} {
		if got := render(cmd); got != want {
			t.Errorf("Parse(%q) = %q, want %q", cmd, got, want)
		}
	}
}

func TestExitStatus(t *testing.T) {
	for v, want := range map[string]int{"0": 0, "1": 1, " 2 ": 2, "256": 0, "257": 1, "0x10": 16, "-1": 255} {
		if got, ok := ExitStatus(v); !ok || got != want {
			t.Errorf("ExitStatus(%q) = %d, %v; want %d", v, got, ok, want)
		}
	}
	if _, ok := ExitStatus("one"); ok {
		t.Error(`ExitStatus("one") is ok`)
	}
}

func TestSplitList(t *testing.T) {
	if diff := cmp.Diff([]string{"HIGH", "CRITICAL"}, SplitList(" HIGH, ,CRITICAL,")); diff != "" {
		t.Errorf("SplitList (-want +got):\n%s", diff)
	}
}

func TestIsImage(t *testing.T) {
	for ref, want := range map[string]bool{
		"aquasec/trivy":                       true,
		"aquasec/trivy:0.50.0":                true,
		"ghcr.io/aquasecurity/trivy@sha256:x": true,
		"docker.io/AquaSec/Trivy:latest":      true,
		"localhost:5000/aquasec/trivy":        true,
		"aquasec/trivy-operator":              false,
		"trivy":                               false,
	} {
		if got := IsImage(ref); got != want {
			t.Errorf("IsImage(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestDockerRunOptions(t *testing.T) {
	if !DockerRunTakesValue("env") || DockerRunTakesValue("rm") {
		t.Error("docker run --env takes a value, --rm does not")
	}
	if l, ok := DockerRunShort('e'); !ok || l != "env" {
		t.Errorf("DockerRunShort('e') = %q, %v", l, ok)
	}
}

func TestParseConfig(t *testing.T) {
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	for _, tc := range []struct {
		yaml, want string
	}{
		{"exit-code: 1\nseverity: [HIGH, CRITICAL]\nformat: json\nscan:\n  scanners: vuln,secret\n", "1 HIGH,CRITICAL vuln,secret json"},
		{"severity: HIGH\nscan:\n  security-checks: [vuln]\n", "<nil> HIGH vuln <nil>"},
		{"base: &b\n  exit-code: 3\nexit-code: *x\n", "invalid"},
		{"", "<nil> <nil> <nil> <nil>"},
		{"exit-code: ~\n", "<nil> <nil> <nil> <nil>"},
		{"- a\n", "invalid"},
	} {
		c, err := ParseConfig([]byte(tc.yaml))
		got := "invalid"
		if err == nil {
			got = strings.Join([]string{str(c.ExitCode), str(c.Severity), str(c.Scanners), str(c.Format)}, " ")
		}
		if got != tc.want {
			t.Errorf("ParseConfig(%q) = %s (err %v), want %s", tc.yaml, got, err, tc.want)
		}
	}
}
