// Package ruletest holds the end-to-end rule fixture tests: every Dockerfile under testdata/rules runs through the real parser and engine and its findings are compared with the `# want:` comments it carries.
package ruletest
