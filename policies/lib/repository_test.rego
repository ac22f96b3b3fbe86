package dwf.lib.repository_test

import data.dwf.lib.repository as lib
import data.dwf.workflow.fixtures_test as fx

# Regular expressions as engine/analysis/ghfilter writes them.
md := fx.pattern("*.md", `^[^/]*\.md$`, 3)

not_readme := fx.pattern("!README.md", `^README\.md$`, 4)

readme_any := fx.pattern("README*", `^README[^/]*$`, 5)

test_root if {
	lib.root(".github/workflows/ci.yml") == ""
	lib.root("testdata/demo/.github/workflows/ci.yml") == "testdata/demo/"
	lib.root("../.github/workflows/ci.yml") == "../"
	lib.root("ci.yml") == ""
}

# GitHub's documented example: `'*.md'`, `'!README.md'` matches hello.md,
# not README.md nor docs/hello.md; adding `README*` re-includes README.md.
test_negation_and_reinclusion if {
	lib.included([md, not_readme], "hello.md")
	not lib.included([md, not_readme], "README.md")
	not lib.included([md, not_readme], "docs/hello.md")
	lib.included([md, not_readme, readme_any], "README.md")
	lib.included([md, not_readme, readme_any], "README.doc")
}

test_unreadable_pattern_matches_nothing if {
	not lib.included([fx.pattern("bad[", null, 3)], "bad[")
}

test_passes_paths if {
	push := fx.filtered("push", 2, {"paths": [md, not_readme]})
	lib.passes_paths(push, "hello.md")
	not lib.passes_paths(push, "README.md")
	ignore := fx.filtered("push", 2, {"paths_ignore": [md]})
	not lib.passes_paths(ignore, "hello.md")
	lib.passes_paths(ignore, "go.sum")
	lib.passes_paths(fx.event("push", 2), "anything")
}

main_only := [fx.pattern("main", "^main$", 3)]

test_default_branch if {
	lib.on_default_branch(fx.event("push", 2))
	lib.on_default_branch(fx.filtered("push", 2, {"branches": main_only}))
	not lib.on_default_branch(fx.filtered("push", 2, {"branches": [fx.pattern("release/*", "^release/[^/]*$", 3)]}))
	not lib.on_default_branch(fx.filtered("push", 2, {"branches_ignore": main_only}))
	not lib.on_default_branch(fx.filtered("push", 2, {"tags": [fx.pattern("v*", "^v[^/]*$", 3)]}))
}

test_default_branch_from_config if {
	not lib.on_default_branch(fx.filtered("push", 2, {"branches": main_only})) with data.dwf.config.default_branches as ["trunk"]
}

test_pull_request_types if {
	lib.on_pull_requests(fx.event("pull_request", 2))
	lib.on_pull_requests(fx.event("pull_request_target", 2))
	not lib.on_pull_requests(fx.filtered("pull_request", 2, {"types": [{"value": "closed", "location": fx.loc(3, 9)}]}))
	not lib.on_pull_requests(fx.event("push", 2))
}

test_on_tags if {
	lib.on_tags(fx.event("push", 2))
	lib.on_tags(fx.filtered("push", 2, {"branches": main_only, "tags": [fx.pattern("v*", "^v[^/]*$", 3)]}))
	not lib.on_tags(fx.filtered("push", 2, {"branches": main_only}))
}

test_files_of_leaves_nested_repositories_out if {
	docs := [
		fx.workflow({"path": ".github/workflows/ci.yml"}),
		fx.workflow({"path": "examples/app/.github/workflows/ci.yml"}),
	]
	files := [
		{"path": "Dockerfile", "kind": "dockerfile"},
		{"path": "examples/app/Dockerfile", "kind": "dockerfile"},
		{"path": "examples/other/Dockerfile", "kind": "dockerfile"},
	]
	inp := fx.repository_files(docs, files)
	lib.files_of("") == [{"path": "Dockerfile", "kind": "dockerfile"}, {"path": "examples/other/Dockerfile", "kind": "dockerfile"}] with input as inp
	lib.files_of("examples/app/") == [{"path": "Dockerfile", "kind": "dockerfile"}] with input as inp
}

test_calls_follow_local_reusable_workflows if {
	caller := fx.workflow({
		"path": "x/.github/workflows/ci.yml",
		"jobs": [fx.job("call", 5, {"uses": fx.uses("./.github/workflows/scan.yml", "local", "", "", "./.github/workflows/scan.yml", "", "none", 6)})],
	})
	callee := fx.workflow({"path": "x/.github/workflows/scan.yml"})
	other := fx.workflow({"path": ".github/workflows/scan.yml"})
	reached := lib.reach(caller) with input as fx.repository([caller, callee, other])
	reached == {"x/.github/workflows/ci.yml", "x/.github/workflows/scan.yml"}
}

test_dir if {
	lib.dir("Dockerfile") == ""
	lib.dir("svc/api/Dockerfile") == "svc/api"
}

test_calls_follow_self_repository_references if {
	caller := fx.workflow({"jobs": [fx.job("call", 5, {"uses": fx.uses("$/.github/workflows/scan.yml", "local", "", "", "$/.github/workflows/scan.yml", "", "none", 6)})]})
	callee := fx.workflow({"path": ".github/workflows/scan.yml"})
	lib.reach(caller) == {".github/workflows/ci.yml", ".github/workflows/scan.yml"} with input as fx.repository([caller, callee])
}
