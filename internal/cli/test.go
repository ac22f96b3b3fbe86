package cli

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devflow/dwf-policy/engine/policyset"
)

type testFlags struct {
	policyFlags
	verbose bool
	run     string
}

func (c Command) testCommand() *cobra.Command {
	var fl testFlags
	cmd := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego unit tests (*_test.rego) of custom policies",
		Long: `Test runs Rego unit tests the way 'opa test' does: every rule named test_*
in the *_test.rego files of the given policy directories (or bundle files)
must hold. With no DIR, the tests of the custom policies (--policy and the
configuration's policies) run; without any, the built-in policies test
themselves.

Tests are compiled with the built-in policies, so they can import
data.dwf.lib.*, against the same input schemas, sandbox and
data.dwf.config (from .dwf-policy.yaml) as 'dwf-policy check', and a rule
package must carry the same METADATA.

Exit codes: 0 every test passed, 1 a test failed (or none was found),
2 the policies or tests do not compile.`,
		Example: `  dwf-policy test ./policy
  dwf-policy test --verbose --run 'test_latest' ./policy`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runTest(cmd.Context(), fl, args)
		},
	}
	fl.policyFlags.register(cmd)
	cmd.Flags().BoolVarP(&fl.verbose, "verbose", "v", false, "list every test, not only the failing ones, with what it printed")
	cmd.Flags().StringVar(&fl.run, "run", "", "run only the tests whose data.<package>.<name> matches `REGEX`")
	return cmd
}

func (c Command) runTest(ctx context.Context, fl testFlags, dirs []string) error {
	if fl.run != "" {
		if _, err := regexp.Compile(fl.run); err != nil {
			return usageError("--run: %v", err)
		}
	}
	// The directories under test are policies like --policy ones: they
	// must compile and describe themselves for check to run them.
	fl.policies = append(slices.Clone(fl.policies), dirs...)
	set, err := c.openPolicies(ctx, fl.policyFlags)
	if err != nil {
		return err
	}
	rep, err := set.Test(ctx, policyset.TestOptions{Dirs: dirs, Run: fl.run})
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	results, testedNames := rep.Results, rep.Tested

	w := bufio.NewWriter(c.Stdout)
	passed, failed, skipped := 0, 0, 0
	for _, r := range results {
		name := fmt.Sprintf("%s:%d: %s.%s", r.Location.File, r.Location.Row, r.Package, r.Name)
		switch {
		case r.Skip:
			skipped++
			if fl.verbose {
				fmt.Fprintf(w, "SKIP  %s\n", name)
			}
		case r.Error != nil:
			failed++
			fmt.Fprintf(w, "ERROR %s: %v\n", name, r.Error)
			writeOutput(w, r.Output)
		case r.Fail:
			failed++
			fmt.Fprintf(w, "FAIL  %s\n", name)
			writeOutput(w, r.Output)
		default:
			passed++
			if fl.verbose {
				fmt.Fprintf(w, "PASS  %s\n", name)
				writeOutput(w, r.Output)
			}
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed", passed, failed)
	if skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", skipped)
	}
	fmt.Fprintln(w)
	if err := w.Flush(); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	switch {
	case failed > 0:
		return &exitError{code: ExitFindings}
	case passed == 0:
		return &exitError{code: ExitFindings, err: fmt.Errorf("no tests found in %s", strings.Join(testedNames, ", "))}
	}
	return nil
}

// writeOutput indents what a test printed under its line.
func writeOutput(w *bufio.Writer, out []byte) {
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
}
