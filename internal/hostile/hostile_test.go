package hostile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devflow/dwf-policy/internal/imagetest"
)

// hcase is one hostile input.
type hcase struct {
	name string
	// item is the item of issue 18 the case covers.
	item string
	// knownBug, when set, says how the binary still does what the issue
	// forbids; the case is skipped with that reason until it is fixed.
	knownBug string
	// setup writes the inputs into repo and returns the arguments.
	setup func(t *testing.T, repo string) []string
	// exit is the exit code the run must end with.
	exit int
	// findings must be in the report; absent must not.
	findings, absent []want
	// stderr substrings name the limit or the refusal.
	stderr []string
	// noOther says why the other files of the run cannot be reported
	// (the run stops before checking any file, as documented); empty means
	// other (default okFinding) must be in the report.
	noOther string
	other   *want
	// reportFile is where the report goes with -o (relative to repo);
	// empty means standard output.
	reportFile string
	// exec replaces the plain run (signals, a FIFO reader).
	exec func(t *testing.T, repo string, args []string) result
	// after checks what the run left behind.
	after func(t *testing.T, repo string, res result)
}

// Messages the binary produces for the limits (engine/analysis/shell,
// engine/repofile, engine/limits.go).
const (
	nestingMsg    = "levels deep (line"
	nestingLimit  = "scripts nested deeper than 100 levels are not parsed"
	notRegFIFO    = "not a regular file (a FIFO)"
	notRegDevice  = "not a regular file (a character device)"
	leavesRepo    = "leads outside the repository (through .. or a symbolic link)"
	partialReport = "stopped early; any report written is partial"
)

// trivialWorkflow gives the workflow-kind custom policies a document.
const trivialWorkflow = `on: push
permissions:
  contents: read
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo hello
`

var cases = []hcase{
	// Item 4: ${A}${A} doubles per line.
	{
		name: "dockerfile-arg-doubling", item: "4",
		setup: func(t *testing.T, repo string) []string {
			var b strings.Builder
			b.WriteString("FROM alpine:3.20\nARG A=xxxxxxxxxxxxxxxx\n")
			for range 26 {
				b.WriteString("ARG A=${A}${A}\n")
			}
			b.WriteString("RUN echo $A\n")
			write(t, filepath.Join(repo, "bomb", "Dockerfile"), b.String())
			return []string{"check", "--format", "json", "."}
		},
		exit: 1,
		// 16 bytes doubled 13 times pass the 64 KiB word cap at line 2+13.
		findings: []want{{Rule: "DWF000", Path: "bomb/Dockerfile", Line: 15, Message: "variable expansion is too large: a word expands to"}},
	},

	// Item 5: nesting in RUN scripts and run: scripts.
	{
		name: "dockerfile-run-nested-command-substitution-10KB", item: "5",
		setup: func(t *testing.T, repo string) []string {
			const n = 10 * 1024 / 8 // "echo $(" + ")" per level
			write(t, filepath.Join(repo, "nest", "Dockerfile"),
				"FROM alpine:3.20\nRUN "+strings.Repeat("echo $(", n)+"x"+strings.Repeat(")", n)+"\n")
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "nest/Dockerfile", Line: 2, Message: nestingMsg}},
	},
	{
		name: "dockerfile-run-nested-arithmetic-100k", item: "5",
		setup: func(t *testing.T, repo string) []string {
			// 100 continuation lines of 1,000 "$((" each: short lines, so
			// the nesting check, not the line-length cap, must stop it.
			var b strings.Builder
			b.WriteString("FROM alpine:3.20\nRUN echo $(( \\\n")
			for range 100 {
				b.WriteString(strings.Repeat("$((", 1000) + " \\\n")
			}
			b.WriteString("1 \\\n")
			for range 100 {
				b.WriteString(strings.Repeat("))", 1000) + " \\\n")
			}
			b.WriteString("))\n")
			write(t, filepath.Join(repo, "arith", "Dockerfile"), b.String())
			return []string{"check", "--format", "json", "."}
		},
		exit: 1,
		// Every "(" ends a word, so the per-file word cap (item 6) may
		// stop this before the nesting check does: either names its limit.
		findings: []want{{Rule: "DWF000", Path: "arith/Dockerfile", Message: nestingLimit, Or: "the limit for one Dockerfile"}},
	},
	{
		name: "workflow-run-nested-command-substitution-10KB", item: "5",
		setup: func(t *testing.T, repo string) []string {
			const n = 10 * 1024 / 8
			write(t, filepath.Join(repo, ".github", "workflows", "nest.yml"),
				"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          "+
					strings.Repeat("echo $(", n)+"x"+strings.Repeat(")", n)+"\n")
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: ".github/workflows/nest.yml", Message: nestingLimit}},
	},
	{
		name: "workflow-run-nested-arithmetic-100k", item: "5",
		setup: func(t *testing.T, repo string) []string {
			write(t, filepath.Join(repo, ".github", "workflows", "arith.yml"),
				"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo $(( "+
					strings.Repeat("$((", 100_000)+"1"+strings.Repeat("))", 100_000)+" ))\n")
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: ".github/workflows/arith.yml", Message: nestingLimit}},
	},

	// Item 6: long stage chains and many instructions.
	{
		name: "dockerfile-20k-chained-stages", item: "6",
		setup: func(t *testing.T, repo string) []string {
			var b strings.Builder
			b.WriteString("FROM alpine:3.20 AS s0\n")
			for i := 1; i < 20_000; i++ {
				fmt.Fprintf(&b, "FROM s%d AS s%d\n", i-1, i)
			}
			write(t, filepath.Join(repo, "chain", "Dockerfile"), b.String())
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "chain/Dockerfile", Message: "FROM chains are too large"}},
	},
	{
		name: "dockerfile-30k-arg-lines", item: "6",
		setup: func(t *testing.T, repo string) []string {
			var b strings.Builder
			b.WriteString("FROM alpine:3.20\n")
			for i := range 30_000 {
				fmt.Fprintf(&b, "ARG A%d=v%d\n", i, i)
			}
			write(t, filepath.Join(repo, "args", "Dockerfile"), b.String())
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "args/Dockerfile", Message: "the limit for one Dockerfile"}},
	},
	{
		name: "dockerfile-100k-run-lines", item: "6",
		setup: func(t *testing.T, repo string) []string {
			var b strings.Builder
			b.WriteString("FROM alpine:3.20\n")
			for i := range 100_000 {
				fmt.Fprintf(&b, "RUN true %d\n", i)
			}
			write(t, filepath.Join(repo, "runs", "Dockerfile"), b.String())
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "runs/Dockerfile", Message: "the limit for one Dockerfile"}},
	},

	// Item 7: a big run: script aliased 5,000 times.
	{
		name: "workflow-alias-expansion-250KB", item: "7",
		setup: func(t *testing.T, repo string) []string {
			var b strings.Builder
			b.WriteString("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - &big\n        run: |\n")
			for i := range 4000 {
				fmt.Fprintf(&b, "          echo line %05d of a big aliased script\n", i)
			}
			for range 5000 {
				b.WriteString("      - *big\n")
			}
			write(t, filepath.Join(repo, ".github", "workflows", "alias.yml"), b.String())
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: ".github/workflows/alias.yml", Message: "YAML aliases expand the document to more than"}},
	},

	// Item 8: 16 ** segments in an exclude glob, matched against a deep path.
	{
		name: "config-exclude-16-globstars", item: "8",
		setup: func(t *testing.T, repo string) []string {
			deep := strings.Repeat("a/", 40)
			write(t, filepath.Join(repo, deep, "Dockerfile"), "FROM alpine:3.20\n")
			write(t, filepath.Join(repo, "skip", "Dockerfile"), "FROM alpine:3.20\n")
			write(t, filepath.Join(repo, ".dwf-policy.yaml"),
				"exclude:\n  - \""+strings.Repeat("**/a/", 16)+"b\"\n  - \"skip/**\"\n")
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF101", Path: strings.Repeat("a/", 40) + "Dockerfile", Line: 1}},
		absent:   []want{{Rule: "DWF101", Path: "skip/Dockerfile"}},
	},

	// Item 9: bundles as tar writes them, and big ones.
	{
		name: "bundle-tar-dot-entries", item: "9",
		setup: func(t *testing.T, repo string) []string {
			writeBundle(t, filepath.Join(repo, "b.tgz"), 0, "")
			return []string{"check", "--format", "json", "--policy", "b.tgz", "."}
		},
		exit:     1,
		findings: []want{{Rule: "HOS901", Path: "ok/Dockerfile", Message: "hostile-suite bundle was loaded"}},
	},
	{
		name: "bundle-60k-small-files", item: "9",
		setup: func(t *testing.T, repo string) []string {
			writeBundle(t, filepath.Join(repo, "b.tgz"), 60_000, "txt")
			return []string{"check", "--format", "json", "--policy", "b.tgz", "."}
		},
		exit:     1,
		findings: []want{{Rule: "HOS901", Path: "ok/Dockerfile", Message: "hostile-suite bundle was loaded"}},
	},
	{
		name: "bundle-60k-small-policy-modules", item: "9",
		setup: func(t *testing.T, repo string) []string {
			writeBundle(t, filepath.Join(repo, "b.tgz"), 60_000, "rego")
			return []string{"check", "--format", "json", "--policy", "b.tgz", "."}
		},
		exit:    2,
		stderr:  []string{"the bundle holds more than 10000 .rego files"},
		noOther: "a policy bundle that cannot be loaded stops the run before any file is checked",
	},

	// Item 10: custom policies that exhaust memory or time.
	// Under --as=1GiB a Go process reaches only about 300 MB of heap, and
	// OPA's numbers.range grows its array 32 MB at a time there: the
	// budget must leave that headroom, so the case uses 128 MiB (a budget
	// of 256 MiB meets the address-space limit first).
	{
		name: "policy-numbers-range-memory-budget-128", item: "10",
		setup: func(t *testing.T, repo string) []string {
			policy(t, "memory", filepath.Join(repo, "policy"))
			write(t, filepath.Join(repo, ".github", "workflows", "ci.yml"), trivialWorkflow)
			return []string{"check", "--format", "json", "--memory-budget", "128", "--policy", "policy", "."}
		},
		exit:   2,
		stderr: []string{"the policies' live heap passed the 128 MiB memory budget"},
	},
	{
		name: "policy-cpu-bound-eval-timeout-1s", item: "10",
		setup: func(t *testing.T, repo string) []string {
			policy(t, "cpu", filepath.Join(repo, "policy"))
			write(t, filepath.Join(repo, ".github", "workflows", "ci.yml"), trivialWorkflow)
			return []string{"check", "--format", "json", "--eval-timeout", "1s", "--policy", "policy", "."}
		},
		exit:   2,
		stderr: []string{"rule HOS911 (dwf.workflow.hostile_cpu) did not finish within the 1s evaluation deadline"},
	},

	// Item 11: files found through the configuration or discovery.
	{
		name: "policy-symlink-to-proc-self-environ", item: "11",
		setup: func(t *testing.T, repo string) []string {
			symlink(t, "/proc/self/environ", filepath.Join(repo, "policy", "x.rego"))
			return []string{"check", "--format", "json", "--policy", "policy", "."}
		},
		exit:    2,
		stderr:  []string{"policy/x.rego: " + leavesRepo},
		noOther: "a policy that cannot be loaded stops the run before any file is checked (README: exit 2)",
	},
	{
		name: "config-policies-symlink-to-proc-self-environ", item: "11",
		setup: func(t *testing.T, repo string) []string {
			symlink(t, "/proc/self/environ", filepath.Join(repo, "policy", "x.rego"))
			write(t, filepath.Join(repo, ".dwf-policy.yaml"), "policies:\n  - policy\n")
			return []string{"check", "--format", "json", "."}
		},
		exit:    2,
		stderr:  []string{"policy/x.rego: " + leavesRepo},
		noOther: "a policy that cannot be loaded stops the run before any file is checked (README: exit 2)",
	},
	{
		name: "config-symlink-to-outside-credentials", item: "11",
		setup: func(t *testing.T, repo string) []string {
			symlink(t, filepath.Join(outside, "credentials"), filepath.Join(repo, ".dwf-policy.yaml"))
			return []string{"check", "--format", "json", "."}
		},
		exit:    2,
		stderr:  []string{"reading config .dwf-policy.yaml: " + leavesRepo},
		noOther: "a configuration that cannot be read stops the run before any file is checked (exit 2)",
	},

	// Item 12: FIFOs and devices named explicitly.
	{
		name: "fifo-on-the-command-line", item: "12",
		setup: func(t *testing.T, repo string) []string {
			mkfifo(t, filepath.Join(repo, "fifo"))
			return []string{"check", "--format", "json", "fifo", "ok"}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "fifo", Message: notRegFIFO}},
	},
	{
		name: "dev-zero-on-the-command-line", item: "12",
		setup: func(t *testing.T, repo string) []string {
			return []string{"check", "--format", "json", "/dev/zero", "ok"}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "/dev/zero", Message: notRegDevice}},
	},
	{
		name: "verification-key-dev-zero", item: "12",
		setup: func(t *testing.T, repo string) []string {
			writeBundle(t, filepath.Join(repo, "b.tgz"), 0, "")
			return []string{"check", "--format", "json", "--verification-key", "/dev/zero", "--policy", "b.tgz", "."}
		},
		exit:    2,
		stderr:  []string{"--verification-key /dev/zero: " + notRegDevice},
		noOther: "a verification key that cannot be read stops the run before any file is checked (exit 2)",
	},
	{
		name: "verification-key-fifo", item: "12",
		setup: func(t *testing.T, repo string) []string {
			writeBundle(t, filepath.Join(repo, "b.tgz"), 0, "")
			mkfifo(t, filepath.Join(repo, "key.pem"))
			return []string{"check", "--format", "json", "--verification-key", "key.pem", "--policy", "b.tgz", "."}
		},
		exit:    2,
		stderr:  []string{"--verification-key key.pem: " + notRegFIFO},
		noOther: "a verification key that cannot be read stops the run before any file is checked (exit 2)",
	},
	{
		name: "config-flag-fifo", item: "12",
		setup: func(t *testing.T, repo string) []string {
			mkfifo(t, filepath.Join(repo, "config.yaml"))
			return []string{"check", "--format", "json", "--config", "config.yaml", "."}
		},
		exit:    2,
		stderr:  []string{"reading config config.yaml: " + notRegFIFO},
		noOther: "a configuration that cannot be read stops the run before any file is checked (exit 2)",
	},
	{
		name: "discovered-config-fifo", item: "11",
		setup: func(t *testing.T, repo string) []string {
			mkfifo(t, filepath.Join(repo, ".dwf-policy.yaml"))
			return []string{"check", "--format", "json", "."}
		},
		exit:    2,
		stderr:  []string{"reading config .dwf-policy.yaml: " + notRegFIFO},
		noOther: "a configuration that cannot be read stops the run before any file is checked (exit 2)",
	},
	{
		name: "image-tarball-dev-zero", item: "12",
		setup: func(t *testing.T, repo string) []string {
			good := goodLayout(t)
			return []string{"image", "--format", "json", "tarball:/dev/zero", "oci-layout:" + good}
		},
		exit:   2,
		stderr: []string{"opening tarball /dev/zero: " + notRegDevice},
		other:  &imageFinding,
	},
	{
		name: "image-tarball-fifo", item: "12",
		setup: func(t *testing.T, repo string) []string {
			mkfifo(t, filepath.Join(repo, "image.tar"))
			good := goodLayout(t)
			return []string{"image", "--format", "json", "tarball:image.tar", "oci-layout:" + good}
		},
		exit:   2,
		stderr: []string{"image.tar: " + notRegFIFO},
		other:  &imageFinding,
	},

	// Item 13: the sandbox.
	{
		name: "policy-match-schema-file-ref", item: "13",
		setup: func(t *testing.T, repo string) []string {
			policy(t, "schema", filepath.Join(repo, "policy"))
			return []string{"check", "--format", "json", "--policy", "policy", "."}
		},
		exit:    2,
		stderr:  []string{"undefined function json.match_schema", "not available to policies"},
		noOther: "a policy that does not compile stops the run before any file is checked (README: exit 2)",
	},
	{
		name: "policy-http-send-tls-ca-cert-file-allow-net", item: "13",
		setup: func(t *testing.T, repo string) []string {
			policy(t, "http", filepath.Join(repo, "policy"))
			write(t, filepath.Join(repo, ".github", "workflows", "ci.yml"), trivialWorkflow)
			return []string{"check", "--format", "json", "--allow-net", "--policy", "policy", "."}
		},
		exit:   2,
		stderr: []string{"tls_ca_cert_file reads the host"},
	},

	// Item 14: --output into what is not a regular file.
	{
		name: "output-dev-null", item: "14",
		setup: func(t *testing.T, repo string) []string {
			return []string{"check", "--format", "json", "-o", nullDevice(t), "."}
		},
		exit:    1,
		noOther: "the report goes to /dev/null",
		after: func(t *testing.T, repo string, res result) {
			null := nullDevice(t)
			info, err := os.Lstat(null)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode()&os.ModeCharDevice == 0 {
				t.Errorf("%s is no longer a character device: %v", null, info.Mode())
			}
			noTempFiles(t, filepath.Dir(null))
		},
	},
	{
		name: "output-fifo", item: "14",
		setup: func(t *testing.T, repo string) []string {
			mkfifo(t, filepath.Join(repo, "report.fifo"))
			return []string{"check", "--format", "json", "-o", "report.fifo", "."}
		},
		exit:       1,
		reportFile: "report.fifo",
		exec:       runWithFIFOReader,
		after: func(t *testing.T, repo string, res result) {
			info, err := os.Lstat(filepath.Join(repo, "report.fifo"))
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode()&os.ModeNamedPipe == 0 {
				t.Errorf("report.fifo was replaced: mode %v", info.Mode())
			}
			noTempFiles(t, repo)
		},
	},
	{
		name: "output-keeps-existing-mode", item: "14",
		setup: func(t *testing.T, repo string) []string {
			file := filepath.Join(repo, "report.json")
			write(t, file, "old report\n")
			if err := os.Chmod(file, 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"check", "--format", "json", "-o", "report.json", "."}
		},
		exit:       1,
		reportFile: "report.json",
		after: func(t *testing.T, repo string, res result) {
			info, err := os.Stat(filepath.Join(repo, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != 0o600 {
				t.Errorf("report.json mode = %v, want the existing 0600", got)
			}
			noTempFiles(t, repo)
		},
	},

	// Item 15: signals stop a slow custom policy.
	signalCase("sigint-during-slow-policy", syscall.SIGINT, 130, "interrupted by SIGINT"),
	signalCase("sigterm-during-slow-policy", syscall.SIGTERM, 143, "interrupted by SIGTERM"),

	// Item 16: a cd before trivy --config.
	{
		name: "dwf203-cd-sub-trivy-config", item: "16",
		setup: func(t *testing.T, repo string) []string {
			// The root's trivy.yaml would keep the gate; sub's turns it off.
			write(t, filepath.Join(repo, "trivy.yaml"), "exit-code: 1\nseverity: CRITICAL,HIGH\n")
			write(t, filepath.Join(repo, "sub", "trivy.yaml"), "exit-code: 0\nseverity: CRITICAL,HIGH\n")
			write(t, filepath.Join(repo, ".github", "workflows", "scan.yml"), `on: push
permissions:
  contents: read
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - run: cd sub && trivy image --config trivy.yaml app
`)
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF203", Path: ".github/workflows/scan.yml", Line: 8, Message: "exit code"}},
	},

	// Messages: a DWF000 for an over-long line points at that line.
	{
		name: "dockerfile-over-long-line-position", item: "messages",
		setup: func(t *testing.T, repo string) []string {
			write(t, filepath.Join(repo, "long", "Dockerfile"),
				"FROM alpine:3.20\nUSER 1001\nRUN echo "+strings.Repeat("x", 70_000)+"\nENTRYPOINT [\"tini\", \"--\"]\n")
			return []string{"check", "--format", "json", "."}
		},
		exit:     1,
		findings: []want{{Rule: "DWF000", Path: "long/Dockerfile", Line: 3, Message: "bytes the Dockerfile parser accepts"}},
	},
}

// imageFinding is what goodLayout, checked beside a hostile image, gives.
var imageFinding = want{Rule: "DWF301", Path: "oci-layout:*"}

// goodLayout writes an OCI layout whose images set no USER (DWF301).
func goodLayout(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "layout")
	none := ""
	imagetest.Spec{PlatformSpec: imagetest.PlatformSpec{User: &none}}.WriteLayout(t, dir)
	return dir
}

// writeBundle writes a bundle the way `tar czf b.tgz -C dir .` does
// (entries "./", "./x.rego", ...): testdata/hostile/policies/bundle/x.rego
// and n more small files with extension ext, 1,000 to a directory.
func writeBundle(t *testing.T, file string, n int, ext string) {
	t.Helper()
	rule, err := os.ReadFile(filepath.Join(moduleRoot, "testdata", "hostile", "policies", "bundle", "x.rego"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name string, body []byte) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(name, "/") {
			hdr.Mode, hdr.Size, hdr.Typeflag = 0o755, 0, tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	add("./", nil)
	add("./x.rego", rule)
	for i := range n {
		if i%1000 == 0 {
			add(fmt.Sprintf("./d%02d/", i/1000), nil)
		}
		body := "x\n"
		if ext == "rego" {
			body = fmt.Sprintf("package dwf.lib.hostile.p%d\n\nv := %d\n", i, i)
		}
		add(fmt.Sprintf("./d%02d/f%05d.%s", i/1000, i, ext), []byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	nullOnce sync.Once
	nullPath string
	nullErr  error
)

// nullDevice is the /dev/null the -o case writes to. Run by root, a
// binary with the bug replaces the device node with a regular file (the
// machine's /dev/null, for every process on it), so root gets a private
// node with the same device number in a temporary directory: the same
// code path in dwf-policy, nothing shared at stake. Anyone else uses
// /dev/null itself, which they cannot replace.
func nullDevice(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return os.DevNull
	}
	nullOnce.Do(func() {
		dir, err := os.MkdirTemp(tmpRoot, "dev-")
		if err != nil {
			nullErr = err
			return
		}
		p := filepath.Join(dir, "null")
		const devNull = 1<<8 | 3 // major 1, minor 3 in Linux's dev_t
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, devNull); err != nil {
			nullErr = fmt.Errorf("mknod %s: %w", p, err)
			return
		}
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil { // a nodev mount
			nullErr = fmt.Errorf("opening %s: %w", p, err)
			return
		}
		f.Close()
		nullPath = p
	})
	if nullErr != nil {
		t.Skipf("running as root, and no private null device to write to instead of the machine's /dev/null: %v", nullErr)
	}
	return nullPath
}

// noTempFiles fails when an --output temporary file is left in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(dir, ".dwf-policy-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// runWithFIFOReader runs the binary with a reader on the report FIFO. The
// reader holds the FIFO open read-write (which never blocks on Linux), so
// the binary's open does not block either, and it stops reading a moment
// after the run: a binary that replaced the FIFO instead of writing into it
// leaves it with nothing, and the test never waits on it.
func runWithFIFOReader(t *testing.T, repo string, args []string) result {
	f, err := os.OpenFile(filepath.Join(repo, "report.fifo"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		wg  sync.WaitGroup
		buf bytes.Buffer
	)
	wg.Go(func() { _, _ = io.Copy(&buf, f) })
	res := run(t, repo, args...)
	_ = f.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	wg.Wait()
	res.extra = append(res.extra, buf.Bytes())
	return res
}

// signalCase runs a custom policy that never finishes, with the report
// going to a file, and sends sig a moment into its evaluation.
func signalCase(name string, sig syscall.Signal, code int, msg string) hcase {
	return hcase{
		name: name, item: "15",
		setup: func(t *testing.T, repo string) []string {
			policy(t, "cpu", filepath.Join(repo, "policy"))
			write(t, filepath.Join(repo, ".github", "workflows", "ci.yml"), trivialWorkflow)
			return []string{"check", "--format", "json", "--eval-timeout", "60s", "--policy", "policy", "-o", "report.json", "."}
		},
		exit:       code,
		stderr:     []string{msg + ": " + partialReport},
		reportFile: "report.json",
		exec: func(t *testing.T, repo string, args []string) result {
			// Wait long enough for ok/Dockerfile to be checked before the
			// signal, however loaded the machine: twice a plain run of it
			// (with the slow policy loaded, so compiling counts), plus 1 s.
			warm := run(t, repo, "check", "--format", "json", "--policy", "policy", "ok")
			wait := time.Second + 2*warm.elapsed
			slots <- struct{}{}
			defer func() { <-slots }()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			cmd, stdout, stderr := command(ctx, t, repo, args...)
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(wait)
			signalled := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Errorf("sending %v: %v", sig, err)
			}
			err := cmd.Wait()
			res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), elapsed: time.Since(start)}
			res.fill(ctx, cmd, err)
			if took := time.Since(signalled); took > 10*time.Second {
				t.Errorf("the process took %s to stop after %v, not promptly", took.Round(time.Millisecond), sig)
			}
			return res
		},
		after: func(t *testing.T, repo string, res result) { noTempFiles(t, repo) },
	}
}

func TestHostileInputs(t *testing.T) {
	if skipAll != "" {
		t.Skip(skipAll)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.knownBug != "" {
				t.Skipf("known bug (issue 18, item %s): %s", c.item, c.knownBug)
			}
			t.Parallel()
			repo := newRepo(t)
			args := c.setup(t, repo)
			var res result
			if c.exec != nil {
				res = c.exec(t, repo, args)
			} else {
				res = run(t, repo, args...)
			}
			var out []byte
			if c.reportFile != "" {
				if c.exec == nil || len(res.extra) == 0 {
					data, err := os.ReadFile(filepath.Join(repo, c.reportFile))
					if err != nil {
						t.Errorf("reading the report: %v", err)
					}
					res.extra = append(res.extra, data)
				}
				out = res.extra[len(res.extra)-1]
			} else {
				out = res.stdout
			}
			t.Logf("item %s: exit %d in %s", c.item, res.code, res.elapsed.Round(time.Millisecond))

			checkEnded(t, res)
			checkSecrets(t, res)
			if res.code != c.exit {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", res.code, c.exit, clip(res.stderr))
			}
			for _, s := range c.stderr {
				if !strings.Contains(string(res.stderr), s) {
					t.Errorf("standard error does not name the limit: want %q in\n%s", s, clip(res.stderr))
				}
			}
			wants := c.findings
			if c.noOther == "" {
				other := okFinding
				if c.other != nil {
					other = *c.other
				}
				wants = append(wants[:len(wants):len(wants)], other)
			}
			if len(wants) > 0 || len(c.absent) > 0 {
				r := parseReport(t, "the report", out)
				checkFindings(t, r, wants...)
				for _, a := range c.absent {
					for _, f := range r.Findings {
						if a.matches(f) {
							t.Errorf("unexpected finding %s: %s:%d", f.RuleID, f.Path, f.Location.Line)
						}
					}
				}
			}
			if c.after != nil {
				c.after(t, repo, res)
			}
		})
	}
}
