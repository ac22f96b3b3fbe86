package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/bundle"
	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/policies"
)

// policyFlags choose the configuration and the policies a command runs
// with; check, rules and test share them.
type policyFlags struct {
	config          string
	policies        []string
	allowNet        bool
	verificationKey string
}

func (p *policyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.config, "config", "", "read the configuration from `FILE` instead of the nearest "+config.FileName)
	cmd.Flags().StringArrayVar(&p.policies, "policy", nil, "also load the custom policies in `DIR`, or an OPA bundle FILE.tar.gz (repeatable)")
	cmd.Flags().BoolVar(&p.allowNet, "allow-net", false, "let policies use network and environment builtins (http.send, net.*, opa.runtime)")
	cmd.Flags().StringVar(&p.verificationKey, "verification-key", "", "accept only bundles signed with the private key of this PEM public key `FILE`")
}

// setup is what a command needs before it can compile policies: the
// configuration (nil when there is no file) and the policy sources,
// built-ins first.
type setup struct {
	wd      string
	cfg     *config.Config
	sources []engine.PolicySource
	files   []string          // parallel to sources: the absolute path, "" for the built-ins
	caps    *ast.Capabilities // nil: the sandbox
}

// loadSetup finds and decodes the configuration and opens the policy
// directories and bundles named by --policy and the configuration's
// `policies`. Every error is a usage error (exit 2).
func (c Command) loadSetup(wd string, fl policyFlags) (*setup, error) {
	s := &setup{wd: wd}
	if fl.allowNet {
		s.caps = ast.CapabilitiesForThisVersion()
	}
	file := fl.config
	if file != "" {
		file = absPath(wd, file)
	} else {
		found, err := config.Find(wd)
		if err != nil {
			return nil, usageError("%v", err)
		}
		file = found
	}
	if file != "" {
		cfg, err := config.Load(file, displayPath(wd, file))
		if err != nil {
			return nil, usageError("%v", err)
		}
		s.cfg = cfg
	}

	var key []byte
	if fl.verificationKey != "" {
		var err error
		if key, err = os.ReadFile(absPath(wd, fl.verificationKey)); err != nil {
			return nil, usageError("--verification-key: %v", unwrapPath(err))
		}
	}
	s.sources = []engine.PolicySource{{Name: "policies", FS: policies.FS, Builtin: true}}
	s.files = []string{""}
	seen := map[string]bool{}
	add := func(name, file, origin string) error {
		if seen[file] {
			return nil
		}
		seen[file] = true
		src, err := openPolicies(name, file, key)
		if err != nil {
			return usageError("%s %s: %v", origin, name, err)
		}
		s.sources = append(s.sources, src)
		s.files = append(s.files, file)
		return nil
	}
	if s.cfg != nil {
		for _, p := range s.cfg.Policies {
			file := filepath.Join(s.cfg.Dir, filepath.FromSlash(p))
			if err := add(displayPath(wd, file), file, s.cfg.Name+": policies:"); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range fl.policies {
		if err := add(p, absPath(wd, p), "--policy"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openPolicies opens a directory of .rego files, or reads a bundle file
// (checking its signature when key is set).
func openPolicies(name, file string, key []byte) (engine.PolicySource, error) {
	info, err := os.Stat(file)
	if err != nil {
		return engine.PolicySource{}, unwrapPath(err)
	}
	if info.IsDir() {
		return engine.PolicySource{Name: name, FS: os.DirFS(file)}, nil
	}
	if strings.HasSuffix(file, ".rego") {
		return engine.PolicySource{}, errors.New("give the directory holding the .rego file, or a bundle .tar.gz")
	}
	b, err := bundle.ReadFile(file, bundle.ReadOptions{VerificationKey: key})
	if errors.Is(err, bundle.ErrUnsigned) {
		return engine.PolicySource{}, errors.New("the bundle is not signed, and --verification-key accepts only signed bundles")
	}
	if err != nil {
		return engine.PolicySource{}, fmt.Errorf("reading bundle: %w", err)
	}
	return engine.PolicySource{Name: name, FS: b.FS}, nil
}

// engine compiles the policies with the configuration's values and
// severity overrides, and checks the rule IDs the configuration names.
func (s *setup) engine(ctx context.Context) (*engine.Engine, error) {
	opts := engine.Options{Policies: s.sources, Config: s.cfg.Data(), Capabilities: s.caps}
	if s.cfg != nil {
		opts.Severities = s.cfg.Rules
	}
	eng, err := engine.New(ctx, opts)
	if err != nil {
		return nil, &exitError{code: ExitError, err: withSandboxHint(err, s.caps == nil)}
	}
	ids := make([]string, 0, len(eng.Rules()))
	for _, r := range eng.Rules() {
		ids = append(ids, r.ID)
	}
	if err := s.cfg.CheckRuleIDs(ids); err != nil {
		return nil, usageError("%v", err)
	}
	return eng, nil
}

var undefinedFunction = regexp.MustCompile(`undefined function ([a-z0-9_.]+)`)

// withSandboxHint explains a compile error caused by a builtin the sandbox
// removes: OPA only says the function is undefined.
func withSandboxHint(err error, sandboxed bool) error {
	if !sandboxed {
		return err
	}
	var refused []string
	for _, m := range undefinedFunction.FindAllStringSubmatch(err.Error(), -1) {
		if isSandboxed(m[1]) && !slices.Contains(refused, m[1]) {
			refused = append(refused, m[1])
		}
	}
	if len(refused) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s: policies run in a sandbox without network and environment builtins; pass --allow-net to allow them",
		err, strings.Join(refused, ", "))
}

// isSandboxed reports whether OPA knows the builtin but the sandbox
// removes it.
func isSandboxed(name string) bool {
	known := false
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		known = known || b.Name == name
	}
	if !known {
		return false
	}
	for _, b := range engine.SandboxCapabilities().Builtins {
		if b.Name == name {
			return false
		}
	}
	return true
}

// absPath resolves p against wd.
func absPath(wd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(wd, p)
}

// displayPath names a file in findings and messages: relative to wd when
// it is below wd or in the same repository (a configuration found in a
// parent directory is ../.dwf-policy.yaml), else absolute.
func displayPath(wd, file string) string {
	rel, err := filepath.Rel(wd, file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	if !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if root := findRepoRoot(wd); root != "" {
		if r, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(file)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
