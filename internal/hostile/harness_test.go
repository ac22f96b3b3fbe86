// Package hostile is the hostile-input suite of issue 18: every item a file
// or a flag can trigger is run through the real dwf-policy binary, under
// `prlimit --as` (1 GiB of address space) and a 60 s deadline, in a
// throwaway repository, with a secret in the environment and another in a
// file outside the repository. Each case asserts the exit code, that a
// DWF000 finding or an error on standard error names the limit that was
// hit, that the other files of the run are still reported, that neither
// secret appears in any output, and that the process ended on its own
// (no crash, no hang).
//
// The package holds tests only. Small inputs (custom policies) live in
// testdata/hostile; large ones are generated into t.TempDir().
package hostile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// addressSpace is the `prlimit --as` every case runs under.
	addressSpace = 1 << 30
	// deadline is how long a case may run before it counts as a hang.
	deadline = 60 * time.Second
	// secretEnv names the environment variable holding envSecret.
	secretEnv = "DWF_HOSTILE_SECRET"
)

// Set by TestMain.
var (
	bin        string // the dwf-policy binary
	moduleRoot string
	outside    string // a directory outside every case's repository
	envSecret  string // planted in the binary's environment
	fileSecret string // planted in outside/credentials
	prlimit    string // path of prlimit(1)
	skipAll    string // why every case is skipped ("" runs them)
	tmpRoot    string // removed when the tests end
)

// slots bounds how many binaries run at once: two cores, and each case may
// take up to addressSpace.
var slots = make(chan struct{}, 2)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "dwf-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	tmpRoot = tmp

	if p, err := exec.LookPath("prlimit"); err != nil {
		skipAll = "prlimit (util-linux) is not installed"
	} else {
		prlimit = p
	}
	if skipAll == "" {
		if err := build(tmp, os.Getenv("DWF_HOSTILE_BIN")); err != nil {
			fmt.Fprintln(os.Stderr, "hostile: building dwf-policy:", err)
			return 1
		}
		envSecret = "env-secret-" + randomHex()
		fileSecret = "file-secret-" + randomHex()
		outside = filepath.Join(tmp, "outside")
		creds := "[default]\naws_access_key_id = AKIAHOSTILE\naws_secret_access_key = " + fileSecret + "\ntoken: " + fileSecret + "\n"
		if err := os.MkdirAll(outside, 0o700); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(outside, "credentials"), []byte(creds), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			return 1
		}
	}
	return m.Run()
}

// build compiles ./cmd/dwf-policy once, the way Dockerfile.devflow ships it
// (CGO_ENABLED=0). A cgo build links glibc, whose malloc reserves 64 MiB
// of address space per thread; under `prlimit --as` that reservation, not
// dwf-policy, would decide when a case runs out of memory.
//
// With prebuilt set (DWF_HOSTILE_BIN), the suite runs that binary instead:
// a release build, or an older one to see which cases it fails.
func build(tmp, prebuilt string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return errors.New("not inside the dwf-policy module")
	}
	moduleRoot = filepath.Dir(mod)
	if prebuilt != "" {
		bin, err = filepath.Abs(prebuilt)
		return err
	}
	bin = filepath.Join(tmp, "dwf-policy")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/dwf-policy")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// result is what one run of the binary left behind.
type result struct {
	code     int // exit code; -1 when killed by a signal or never started
	signaled bool
	timedOut bool
	stdout   []byte
	stderr   []byte
	elapsed  time.Duration
	// extra is anything else the run wrote that must be free of secrets
	// (a report written with -o).
	extra [][]byte
}

// command prepares the binary under prlimit in dir, with the planted secret
// and a private cache directory.
func command(ctx context.Context, t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	full := append([]string{fmt.Sprintf("--as=%d", addressSpace), "--", bin}, args...)
	cmd := exec.CommandContext(ctx, prlimit, full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		secretEnv+"="+envSecret,
		"XDG_CACHE_HOME="+t.TempDir(),
		"DOCKER_CONFIG="+t.TempDir(),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd, &stdout, &stderr
}

// run runs the binary to its end (or the deadline).
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	slots <- struct{}{}
	defer func() { <-slots }()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd, stdout, stderr := command(ctx, t, dir, args...)
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), elapsed: time.Since(start)}
	res.fill(ctx, cmd, err)
	return res
}

// fill records how the process ended.
func (r *result) fill(ctx context.Context, cmd *exec.Cmd, err error) {
	r.code = -1
	if ctx.Err() != nil {
		r.timedOut = true
	}
	if cmd.ProcessState == nil {
		r.stderr = append(r.stderr, []byte(fmt.Sprintf("\n[hostile: could not run: %v]", err))...)
		return
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signaled = true
		return
	}
	r.code = cmd.ProcessState.ExitCode()
}

// report is the JSON report (--format json).
type report struct {
	Findings []finding `json:"findings"`
}

type finding struct {
	RuleID   string `json:"rule_id"`
	Path     string `json:"path"`
	Message  string `json:"message"`
	Location struct {
		Line int `json:"line"`
	} `json:"location"`
}

// want is a finding a case expects. Path ending in "*" is a prefix; Line 0
// matches any line; Message is a substring.
type want struct {
	Rule, Path string
	Line       int
	Message    string
	// Or is another acceptable substring of the message.
	Or string
}

func (w want) String() string {
	if w.Or != "" {
		return fmt.Sprintf("%s at %s:%d containing %q or %q", w.Rule, w.Path, w.Line, w.Message, w.Or)
	}
	return fmt.Sprintf("%s at %s:%d containing %q", w.Rule, w.Path, w.Line, w.Message)
}

func (w want) matches(f finding) bool {
	if f.RuleID != w.Rule {
		return false
	}
	if p, ok := strings.CutSuffix(w.Path, "*"); ok {
		if !strings.HasPrefix(f.Path, p) {
			return false
		}
	} else if f.Path != w.Path {
		return false
	}
	msg := strings.Contains(f.Message, w.Message) || (w.Or != "" && strings.Contains(f.Message, w.Or))
	return (w.Line == 0 || f.Location.Line == w.Line) && msg
}

// okFinding is what ok/Dockerfile (FROM alpine:3.20 alone) always gives.
var okFinding = want{Rule: "DWF101", Path: "ok/Dockerfile", Line: 1, Message: "USER 1001"}

// newRepo makes a repository (a .git directory, no git needed) holding the
// file every case also checks: ok/Dockerfile with a known finding.
func newRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	mkdir(t, filepath.Join(repo, ".git"))
	write(t, filepath.Join(repo, "ok", "Dockerfile"), "FROM alpine:3.20\n")
	return repo
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// write writes a file, making its directory.
func write(t *testing.T, file, content string) {
	t.Helper()
	mkdir(t, filepath.Dir(file))
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	mkdir(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, file string) {
	t.Helper()
	mkdir(t, filepath.Dir(file))
	if err := syscall.Mkfifo(file, 0o644); err != nil {
		t.Fatal(err)
	}
}

// policy copies testdata/hostile/policies/NAME into dir, with
// OUTSIDE_CREDENTIALS replaced by the outside credentials file.
func policy(t *testing.T, name, dir string) {
	t.Helper()
	src := filepath.Join(moduleRoot, "testdata", "hostile", "policies", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "OUTSIDE_CREDENTIALS", filepath.Join(outside, "credentials"))
		write(t, filepath.Join(dir, e.Name()), text)
	}
}

// checkEnded fails unless the process ended on its own, without a crash.
func checkEnded(t *testing.T, res result) {
	t.Helper()
	if res.timedOut {
		t.Fatalf("hang: still running after %s (killed)\nstderr:\n%s", deadline, clip(res.stderr))
	}
	if res.signaled {
		t.Fatalf("crash: killed by a signal after %s\nstderr:\n%s", res.elapsed.Round(time.Millisecond), clip(res.stderr))
	}
	for _, s := range []string{"goroutine ", "fatal error", "panic"} {
		if bytes.Contains(res.stderr, []byte(s)) {
			t.Fatalf("crash: standard error contains %q\n%s", s, clip(res.stderr))
		}
	}
}

// checkSecrets fails if a planted secret is in any output of the run.
func checkSecrets(t *testing.T, res result) {
	t.Helper()
	outputs := map[string][]byte{"stdout": res.stdout, "stderr": res.stderr}
	for i, e := range res.extra {
		outputs[fmt.Sprintf("output file %d", i)] = e
	}
	for name, out := range outputs {
		for _, secret := range []string{envSecret, fileSecret} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("leak: %s contains a planted secret (%s)", name, secret[:strings.LastIndex(secret, "-")])
			}
		}
	}
}

// parseReport parses a JSON report, failing the case when it is not one.
func parseReport(t *testing.T, name string, data []byte) report {
	t.Helper()
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s is not a JSON report: %v\n%s", name, err, clip(data))
	}
	return r
}

// checkFindings fails for each wanted finding missing from r.
func checkFindings(t *testing.T, r report, wants ...want) {
	t.Helper()
	for _, w := range wants {
		found := false
		for _, f := range r.Findings {
			if w.matches(f) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing finding %s; the report has:\n%s", w, describe(r))
		}
	}
}

func describe(r report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  %s %s:%d %s\n", f.RuleID, f.Path, f.Location.Line, clip([]byte(f.Message)))
	}
	if b.Len() == 0 {
		return "  (no findings)\n"
	}
	return b.String()
}

// clip shortens output for a failure message.
func clip(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}
