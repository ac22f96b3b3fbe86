// Package ruletest holds the end-to-end rule fixture tests: every fixture
// under testdata/rules/<RULEID>/, of every input kind (Dockerfiles,
// workflows, repositories of workflows, images), runs through the service
// layer the command line uses (engine/policyset, engine/check) and its
// findings are compared with the `# want:` header it carries. See
// ruletest_test.go for the fixture format.
package ruletest
