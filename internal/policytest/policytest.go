// Package policytest opens policy sets for the servers' tests: the
// built-in policies with an optional configuration, in a directory of the
// test's own.
package policytest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/devflow/dwf-policy/engine/policyset"
)

// Open opens the built-in policy set with cfg ("": none) as its
// .dwf-policy.yaml, after tune (nil: none) changed the options, and
// returns it with its hash. No configuration is searched for.
func Open(t testing.TB, cfg string, tune func(*policyset.Options)) (*policyset.Set, string) {
	t.Helper()
	opts := policyset.Options{WorkDir: t.TempDir(), NoConfigSearch: true}
	if cfg != "" {
		opts.ConfigFile = filepath.Join(opts.WorkDir, ".dwf-policy.yaml")
		if err := os.WriteFile(opts.ConfigFile, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tune != nil {
		tune(&opts)
	}
	set, err := policyset.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := set.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return set, hash
}
