package policyset

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/devflow/dwf-policy/engine"
	"github.com/devflow/dwf-policy/engine/repopath"
)

// TestOptions tune Test. The zero value tests the custom policies, else the
// built-ins.
type TestOptions struct {
	// Dirs are the policy sources under test as the user named them; they
	// must also be among Options.Policies, so that they compile and
	// describe themselves as check would run them.
	Dirs []string
	// Run keeps only the tests whose data.<package>.<name> matches it.
	Run string
}

// TestReport is the outcome of Test.
type TestReport struct {
	// Results are sorted by file, line and name.
	Results []*tester.Result
	// Tested names the policy sources whose tests ran.
	Tested []string
}

// Test runs the *_test.rego files of the sources under test the way `opa
// test` does, compiled with every policy of the set (so tests can import
// data.dwf.lib.*), against the input schemas, in the same sandbox and with
// the same data.dwf.config as a check. Each test is bounded by the set's
// evaluation deadline.
func (s *Set) Test(ctx context.Context, opts TestOptions) (*TestReport, error) {
	tested := map[string]bool{} // by absolute path, "" for the built-ins
	for _, d := range opts.Dirs {
		tested[repopath.Abs(s.WorkDir, d)] = true
	}
	if len(opts.Dirs) == 0 {
		for _, src := range s.Sources[1:] {
			tested[src.File] = true
		}
	}
	if len(tested) == 0 {
		tested[""] = true
	}
	rep := &TestReport{}
	modules := map[string]*ast.Module{}
	for _, src := range s.Sources {
		ms, err := engine.LoadModules([]engine.PolicySource{src.PolicySource})
		if err != nil {
			return nil, err
		}
		if tested[src.File] {
			rep.Tested = append(rep.Tested, src.Name)
		} else {
			maps.DeleteFunc(ms, func(name string, _ *ast.Module) bool { return strings.HasSuffix(name, "_test.rego") })
		}
		maps.Copy(modules, ms)
	}

	compiler, err := engine.NewCompiler(s.Capabilities)
	if err != nil {
		return nil, err
	}
	store := engine.NewStore(s.Config.DataWith(s.Ignores))
	txn, err := store.NewTransaction(ctx, storage.TransactionParams{})
	if err != nil {
		return nil, err
	}
	defer store.Abort(ctx, txn)
	timeout := s.opts.EvalTimeout
	if timeout <= 0 {
		timeout = engine.DefaultEvalTimeout
	}
	runner := tester.NewRunner().
		SetCompiler(compiler.WithEnablePrintStatements(true)).
		SetStore(store).
		SetModules(modules).
		SetDefaultRegoVersion(ast.RegoV1).
		SetTimeout(timeout).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true)
	if opts.Run != "" {
		runner = runner.Filter(opts.Run)
	}
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return nil, WithSandboxHint(fmt.Errorf("compiling tests: %w", err), s.Sandboxed())
	}
	for r := range ch {
		rep.Results = append(rep.Results, r)
	}
	slices.SortFunc(rep.Results, func(a, b *tester.Result) int {
		if c := strings.Compare(a.Location.File, b.Location.File); c != 0 {
			return c
		}
		if a.Location.Row != b.Location.Row {
			return a.Location.Row - b.Location.Row
		}
		return strings.Compare(a.Name, b.Name)
	})
	return rep, nil
}
