// Package policyset opens the policies a check runs with: the built-in
// rules, custom policy directories and bundles (signatures verified), the
// sandbox choice and the configuration, compiled once into an engine. Every
// front door (the command line, `dwf-policy test`, the servers) opens its
// policies here, so they all judge by the same rules and data.
package policyset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/bundle"
	"github.com/devflow/dwf-policy/engine/config"
	"github.com/devflow/dwf-policy/engine/finding"
	"github.com/devflow/dwf-policy/engine/repofile"
	"github.com/devflow/dwf-policy/engine/repopath"
	"github.com/devflow/dwf-policy/policies"
)

// Options say which configuration and policies to open. The zero value
// opens the built-in rules with the configuration found from the process's
// working directory.
type Options struct {
	// WorkDir is the directory relative paths are resolved against and the
	// configuration is searched from; "" means the process's working
	// directory.
	WorkDir string
	// ConfigFile is the configuration to read instead of the nearest
	// .dwf-policy.yaml (--config).
	ConfigFile string
	// SearchFrom are the paths a check is about (relative ones against
	// WorkDir): the configuration is the nearest one above the deepest
	// directory they share, up to the repository root, so that checking
	// services/api finds services/api/.dwf-policy.yaml from anywhere.
	// Empty means WorkDir.
	SearchFrom []string
	// NoConfigSearch reads no configuration unless ConfigFile names one
	// (servers, whose working directory means nothing).
	NoConfigSearch bool
	// IgnoreFile is a .trivyignore or .trivyignore.yaml to read instead of
	// those found beside the configuration (--ignorefile, as Trivy's).
	IgnoreFile string
	// Policies are custom policy directories or bundle files (--policy),
	// loaded after the configuration's own `policies`.
	Policies []string
	// VerificationKeyFile is a PEM public key: bundles must be signed by
	// its private key (--verification-key).
	VerificationKeyFile string
	// AllowNet lets policies use network and environment builtins
	// (--allow-net); the default is the sandbox.
	AllowNet bool
	// Rules overrides rule severities for this run, over the
	// configuration's `rules` (--rule ID=severity, --ignore ID);
	// SeverityNone turns a rule off. Every ID must name a rule.
	Rules map[string]finding.Severity
	// EvalTimeout and MemoryBudget bound evaluation (see engine.Options);
	// zero values are the engine's defaults.
	EvalTimeout  time.Duration
	MemoryBudget int64
	// Deferred compiles no policy in Open: each kind's rules are compiled
	// when a check first needs them (engine.Options.Deferred), and a
	// policy that does not compile is an *engine.CompileError from the
	// check. One-shot checks set it; the zero value compiles everything
	// in Open (servers, `dwf-policy rules`).
	Deferred bool
}

// Source is one tree of policies and the file it came from.
type Source struct {
	engine.PolicySource
	// File is the absolute path of the directory or bundle; "" for the
	// built-in policies.
	File string
}

// Set is an opened, compiled policy set. It is safe for concurrent use.
type Set struct {
	opts Options
	// WorkDir is the directory paths were resolved against.
	WorkDir string
	// Config is the configuration read; nil when there is none.
	Config *config.Config
	// Ignores are the accepted vulnerabilities of Trivy's ignore files
	// (--ignorefile, else .trivyignore and .trivyignore.yaml where the
	// configuration is); the configuration's own are in Config.
	Ignores []config.VulnIgnore
	// Sources are the policy trees, built-ins first.
	Sources []Source
	// Capabilities are the builtins policies may call.
	Capabilities *ast.Capabilities
	// Engine holds the compiled policies.
	Engine *engine.Engine
}

// Sandboxed reports whether policies run without network and environment
// builtins.
func (s *Set) Sandboxed() bool { return s.Capabilities == nil }

// Open reads the configuration, opens every policy source and compiles
// them. Its errors name the file or flag at fault; they are the user's to
// fix.
func Open(ctx context.Context, opts Options) (*Set, error) {
	s, err := Load(opts)
	if err != nil {
		return nil, err
	}
	if err := s.compile(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads the configuration and opens the policy sources without
// compiling them.
func Load(opts Options) (*Set, error) {
	wd := opts.WorkDir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("finding working directory: %w", err)
		}
	}
	s := &Set{WorkDir: wd, opts: opts}
	if opts.AllowNet {
		s.Capabilities = ast.CapabilitiesForThisVersion()
	}
	cfg, err := readConfig(wd, opts)
	if err != nil {
		return nil, err
	}
	s.Config = cfg
	if s.Ignores, err = readIgnores(wd, cfg, opts); err != nil {
		return nil, err
	}

	var key []byte
	if opts.VerificationKeyFile != "" {
		if key, err = repofile.ReadFile(repopath.Abs(wd, opts.VerificationKeyFile), maxKeyBytes); err != nil {
			return nil, fmt.Errorf("--verification-key %s: %w", opts.VerificationKeyFile, err)
		}
		if len(opts.Policies) == 0 && (cfg == nil || len(cfg.Policies) == 0) {
			return nil, errors.New("--verification-key verifies policy bundles, and none is given: add --policy FILE.tar.gz (or policies: in the configuration)")
		}
	}
	s.Sources = []Source{{PolicySource: engine.PolicySource{Name: "policies", FS: policies.FS, Builtin: true}}}
	seen := map[string]bool{}
	add := func(name, file, origin string) error {
		if seen[file] {
			return nil
		}
		seen[file] = true
		src, err := openPolicies(name, confinement(file), file, key)
		if err != nil {
			return fmt.Errorf("%s %s: %w", origin, name, err)
		}
		s.Sources = append(s.Sources, Source{PolicySource: src, File: file})
		return nil
	}
	if cfg != nil {
		for _, p := range cfg.Policies {
			file := filepath.Join(cfg.Dir, filepath.FromSlash(p))
			if err := add(repopath.Display(wd, file), file, cfg.Name+": policies:"); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range opts.Policies {
		if err := add(p, repopath.Abs(wd, p), "--policy"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// maxKeyBytes caps a verification key file: a PEM public key is a few
// hundred bytes.
const maxKeyBytes = 64 << 10

// readConfig reads the configuration named by opts, else the nearest one.
// One found by discovery is read through os.Root at its repository root:
// a symbolic link out of the repository is refused unread.
func readConfig(wd string, opts Options) (*config.Config, error) {
	if opts.ConfigFile != "" {
		file := repopath.Abs(wd, opts.ConfigFile)
		return config.Load(file, repopath.Display(wd, file))
	}
	if opts.NoConfigSearch {
		return nil, nil
	}
	file, err := config.Find(searchDir(wd, opts.SearchFrom))
	if err != nil || file == "" {
		return nil, err
	}
	return config.LoadIn(confinement(file), file, repopath.Display(wd, file))
}

// searchDir is where the configuration search starts: the deepest
// directory the paths share (a file counts as its directory; a path that
// does not exist as the nearest directory above it that does), else wd.
func searchDir(wd string, paths []string) string {
	var common string
	for _, p := range paths {
		if p == "" {
			continue
		}
		p = filepath.Clean(repopath.Abs(wd, p))
		// The nearest directory that exists: a file's own, or the one a
		// new file (--stdin-filename) would be in.
		for {
			if info, err := os.Stat(p); (err == nil && info.IsDir()) || p == filepath.Dir(p) {
				break
			}
			p = filepath.Dir(p)
		}
		if common == "" {
			common = p
			continue
		}
		for common != p && !strings.HasPrefix(p, common+string(filepath.Separator)) {
			parent := filepath.Dir(common)
			if parent == common {
				break
			}
			common = parent
		}
	}
	// Paths that reach above the working directory (Dockerfile and
	// ../other) keep the working directory's configuration.
	if common == "" || common != wd && strings.HasPrefix(wd, common+string(filepath.Separator)) || common == filepath.Dir(common) {
		return wd
	}
	return common
}

// readIgnores reads the ignore file named by opts, else Trivy's ignore
// files in the configuration's directory or, without a configuration, the
// nearest ones upward from wd.
func readIgnores(wd string, cfg *config.Config, opts Options) ([]config.VulnIgnore, error) {
	var files []string
	switch {
	case opts.IgnoreFile != "":
		files = []string{repopath.Abs(wd, opts.IgnoreFile)}
	case cfg != nil && cfg.Dir != "":
		for _, name := range config.IgnoreFileNames {
			file := filepath.Join(cfg.Dir, name)
			if info, err := os.Stat(file); err == nil && !info.IsDir() {
				files = append(files, file)
			}
		}
	case !opts.NoConfigSearch:
		var err error
		if files, err = config.FindIgnoreFiles(searchDir(wd, opts.SearchFrom)); err != nil {
			return nil, err
		}
	}
	var out []config.VulnIgnore
	for _, file := range files {
		ig, err := config.LoadIgnoreFile(file, repopath.Display(wd, file))
		if err != nil {
			if opts.IgnoreFile != "" {
				return nil, fmt.Errorf("--ignorefile: %w", err)
			}
			return nil, err
		}
		out = append(out, ig...)
	}
	return out, nil
}

// confinement is the directory nothing read for file may leave: the
// repository around it, else the directory itself (a policy directory
// named outside any repository) or its parent (a file).
func confinement(file string) string {
	dir := file
	if info, err := os.Stat(file); err != nil || !info.IsDir() {
		dir = filepath.Dir(file)
	}
	if root := repopath.Root(dir); root != "" {
		return root
	}
	return dir
}

// openPolicies opens a directory of .rego files, or reads a bundle file
// (checking its signature when key is set), through os.Root at root.
func openPolicies(name, root, file string, key []byte) (engine.PolicySource, error) {
	info, err := os.Stat(file)
	if err != nil {
		return engine.PolicySource{}, repofile.Cause(err)
	}
	if info.IsDir() {
		if key != nil {
			return engine.PolicySource{}, errors.New("a directory of .rego files is not signed: only signed bundles may run under --verification-key (build one with 'dwf-policy bundle build --signing-key')")
		}
		fsys, _, err := repofile.FS(root, file) // open for the life of the process
		if err != nil {
			return engine.PolicySource{}, err
		}
		return engine.PolicySource{Name: name, FS: fsys}, nil
	}
	if strings.HasSuffix(file, ".rego") {
		return engine.PolicySource{}, errors.New("give the directory holding the .rego file, or a bundle .tar.gz")
	}
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return engine.PolicySource{}, err
	}
	data, err := repofile.ReadIn(root, filepath.ToSlash(rel), bundle.MaxBytes)
	if err != nil {
		return engine.PolicySource{}, err
	}
	b, err := bundle.Read(data, bundle.ReadOptions{VerificationKey: key})
	if errors.Is(err, bundle.ErrUnsigned) {
		return engine.PolicySource{}, errors.New("the bundle is not signed, and --verification-key accepts only signed bundles")
	}
	if err != nil {
		return engine.PolicySource{}, fmt.Errorf("reading bundle: %w", err)
	}
	return engine.PolicySource{Name: name, FS: b.FS}, nil
}

// PolicySources returns the sources as the engine takes them.
func (s *Set) PolicySources() []engine.PolicySource {
	out := make([]engine.PolicySource, len(s.Sources))
	for i, src := range s.Sources {
		out[i] = src.PolicySource
	}
	return out
}

// compile compiles the policies with the configuration's values and
// severity overrides, and checks the rule IDs the configuration names.
func (s *Set) compile(ctx context.Context) error {
	opts := engine.Options{
		Policies:     s.PolicySources(),
		Config:       s.Config.DataWith(s.Ignores),
		Capabilities: s.Capabilities,
		EvalTimeout:  s.opts.EvalTimeout,
		MemoryBudget: s.opts.MemoryBudget,
		Deferred:     s.opts.Deferred,
	}
	if s.Config != nil {
		opts.Severities = s.Config.Rules
	}
	if len(s.opts.Rules) > 0 {
		merged := maps.Clone(opts.Severities)
		if merged == nil {
			merged = map[string]finding.Severity{}
		}
		maps.Copy(merged, s.opts.Rules)
		opts.Severities = merged
	}
	eng, err := engine.New(ctx, opts)
	if err != nil {
		return WithSandboxHint(err, s.Sandboxed())
	}
	ids := make([]string, 0, len(eng.Rules()))
	for _, r := range eng.Rules() {
		ids = append(ids, r.ID)
	}
	if err := s.Config.CheckRuleIDs(ids); err != nil {
		return err
	}
	var unknown []string
	for id := range s.opts.Rules {
		if !slices.Contains(ids, id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("unknown rule %s (run 'dwf-policy rules' for the catalogue)", strings.Join(unknown, ", "))
	}
	s.Engine = eng
	return nil
}

var undefinedFunction = regexp.MustCompile(`undefined function ([a-z0-9_.]+)`)

// WithSandboxHint explains a compile error caused by a builtin the sandbox
// removes, or one no policy may use because it reads host files: OPA only
// says the function is undefined.
func WithSandboxHint(err error, sandboxed bool) error {
	if err == nil {
		return err
	}
	var refused, hostFiles []string
	for _, m := range undefinedFunction.FindAllStringSubmatch(err.Error(), -1) {
		switch name := m[1]; {
		case engine.ReadsHostFiles(name):
			if !slices.Contains(hostFiles, name) {
				hostFiles = append(hostFiles, name)
			}
		case sandboxed && isSandboxed(name) && !slices.Contains(refused, name):
			refused = append(refused, name)
		}
	}
	if len(refused) > 0 {
		err = fmt.Errorf("%w\n%s: policies run in a sandbox without network and environment builtins; pass --allow-net to allow them",
			err, strings.Join(refused, ", "))
	}
	if len(hostFiles) > 0 {
		err = fmt.Errorf("%w\n%s: not available to policies, with or without --allow-net: they read host files", err, strings.Join(hostFiles, ", "))
	}
	return err
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
