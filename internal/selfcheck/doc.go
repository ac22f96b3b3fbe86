// Package selfcheck holds the tests that the ways users meet dwf-policy work
// for real: the repository passes its own policies, the README's snippets are
// what is tested, and the pre-commit hook runs under the real pre-commit.
package selfcheck
