// Package cli implements the dwf-policy command line. It is the only place
// where exit codes are decided; main only wires it to the process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"
)

// Exit codes, a contract with CI setups and hooks.
const (
	ExitOK       = 0 // nothing at or above --fail-on
	ExitFindings = 1 // findings at or above --fail-on
	ExitError    = 2 // usage or internal error
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

// InformationURI is where the tool is documented, for SARIF.
const InformationURI = "https://github.com/devflow/dwf-policy"

// Command runs dwf-policy with the given streams; zero values mean the
// process's own.
type Command struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// WorkDir replaces the working directory (tests); "" means os.Getwd.
	WorkDir string
	// Now replaces the clock that decides whether exceptions have expired
	// (tests); nil means time.Now.
	Now func() time.Time
	// RegistryTransport carries registry requests and Keychain finds
	// registry credentials (tests); nil means the default HTTP transport
	// and the Docker config with its credential helpers.
	RegistryTransport http.RoundTripper
	Keychain          authn.Keychain
	// Listening, when not nil, is told the addresses `serve` listens on
	// once it is ready (tests).
	Listening func(main, gate string)
	// TTY makes Stdout and Stderr count as terminals (tests): colour and
	// source snippets in text reports, as on a real terminal.
	TTY bool
	// TuneGC lets one-shot commands trade memory for speed (see tuneGC);
	// main sets it, tests leave the process's settings alone.
	TuneGC bool
	// Serve runs the servers of `serve`. The dwf-policy binary leaves it
	// nil and hands `serve` to dwf-policy-server, which sets it (see
	// execServer): linking the servers costs every other command about a
	// millisecond of start-up.
	Serve func(context.Context, ServeRequest) error

	// args are Main's, for execServer.
	args []string
}

// exitError carries an exit code out of a cobra RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks a problem with how the command was called.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitError, err: fmt.Errorf(format, args...)}
}

// Main runs the command line args (args[0] is the program name) and returns
// the process exit code.
func (c Command) Main(ctx context.Context, args []string) int {
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	c.args = args
	root := c.rootCommand()
	if len(args) > 0 {
		args = args[1:]
	}
	root.SetArgs(args)
	root.SetOut(c.Stdout)
	root.SetErr(c.Stderr)
	ran, err := root.ExecuteContextC(ctx)
	// A server stops on SIGINT or SIGTERM: that is its normal end, after
	// draining, not an interrupted run with a partial report.
	served := ran != nil && ran.Annotations[longRunning] != ""
	if in, ok := interruption(ctx); ok && !served {
		// Whatever the command did with its cancelled work, the process
		// was told to stop: say so, and exit as a signalled process would.
		fmt.Fprintf(c.Stderr, "dwf-policy: %v: stopped early; any report written is partial\n", in)
		return in.ExitCode()
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(c.Stderr, "dwf-policy: %v\n", ee.err)
		}
		return ee.code
	}
	// Errors cobra itself raises are about the command line.
	fmt.Fprintf(c.Stderr, "dwf-policy: %v\nRun 'dwf-policy --help' for usage.\n", err)
	return ExitError
}

func (c Command) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "dwf-policy",
		Short: "Policy-as-code checks for container builds, CI workflows and images",
		Long: `dwf-policy checks Dockerfiles, GitHub Actions workflows and container images
against the Devflow hardening standard: images run as the non-root user dwfuser
(UID 1001) under tini, workflows keep the GITHUB_TOKEN at contents: read, and
Trivy scans fail the build on CRITICAL and HIGH findings.

Every rule is Rego (OPA); findings point at the exact file, line and column and
can be written as text, JSON, SARIF for GitHub code scanning or GitHub
annotations (several at once with --report). Teams tune it
with .dwf-policy.yaml (see 'dwf-policy config'), suppress single findings with
'# dwf-policy:ignore DWF104 reason' comments, and add their own Rego rules with
--policy (tested with 'dwf-policy test', shipped as signed bundles built with
'dwf-policy bundle build').

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 usage or internal error, 130 or 143 stopped early by SIGINT or SIGTERM
(the report written is partial).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			if c.TuneGC && cmd.Annotations[longRunning] == "" {
				tuneGC()
			}
		},
	}
	// --version prints what the version command prints.
	root.Version = version()
	root.SetVersionTemplate("dwf-policy {{.Version}}\n")
	root.AddCommand(c.checkCommand(), c.imageCommand(), c.rulesCommand(), c.explainCommand(), c.testCommand(), c.configCommand(), c.initCommand(), c.bundleCommand(), c.serveCommand(), c.versionCommand())
	return root
}

// longRunning annotates a command that serves until stopped: it keeps the
// runtime's default garbage collection, which suits a steady heap.
const longRunning = "dwf-policy/long-running"

func (c Command) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of dwf-policy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(c.Stdout, "dwf-policy %s\n", version())
			return nil
		},
	}
}

// version is the -ldflags version, else what the build info knows: the
// module version (go install ...@v1.2.3, or the pseudo-version Go records
// for a build from a checkout), else the VCS revision; "dev" only when
// neither is known (go test, go run, -buildvcs=false).
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(Version, bi)
}

// versionFrom is version with its inputs given. A build from a checkout is
// 0.0.0-dev+REVISION (12 hex digits, .dirty with uncommitted changes): a
// semantic version, so SARIF's semanticVersion can carry it too.
func versionFrom(ldflags string, bi *debug.BuildInfo) string {
	if ldflags != "" {
		return ldflags
	}
	if bi == nil {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "0.0.0-dev+" + rev
	if modified == "true" {
		v += ".dirty"
	}
	return v
}
