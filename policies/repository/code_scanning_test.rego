package dwf.repository.code_scanning_test

import data.dwf.repository.code_scanning
import data.dwf.workflow.fixtures_test as fx

codeql_steps := [
	fx.step(0, 8, {"uses": fx.uses("github/codeql-action/init@v3", "remote", "github", "codeql-action", "init", "v3", "tag", 8)}),
	fx.step(1, 9, {"uses": fx.uses("github/codeql-action/analyze@v3", "remote", "github", "codeql-action", "analyze", "v3", "tag", 9)}),
]

wf(path, events, jobs) := fx.workflow({
	"path": path,
	"on": {"location": fx.loc(2, 1), "events": events, "schedules": []},
	"jobs": jobs,
})

codeql_job := fx.job("codeql", 6, {"steps": codeql_steps})

push_and_pr := [fx.filtered("push", 3, {"branches": [fx.pattern("main", "^main$", 4)]}), fx.event("pull_request", 5)]

test_push_and_pull_request_pass if {
	count(code_scanning.deny) == 0 with input as fx.repository([wf(".github/workflows/codeql.yml", push_and_pr, [codeql_job])])
}

test_push_only_fires_at_on if {
	findings := code_scanning.deny with input as fx.repository([wf(".github/workflows/codeql.yml", [fx.event("push", 3)], [codeql_job])])
	count(findings) == 1
	some f in findings
	f.location == fx.loc(2, 1)
	f.path == ".github/workflows/codeql.yml"
	contains(f.msg, "not on `pull_request`")
}

test_push_to_other_branch_fires if {
	events := [fx.filtered("push", 3, {"branches": [fx.pattern("release/*", "^release/[^/]*$", 4)]}), fx.event("pull_request", 5)]
	findings := code_scanning.deny with input as fx.repository([wf(".github/workflows/codeql.yml", events, [codeql_job])])
	count(findings) == 1
	some f in findings
	contains(f.msg, "not on `push` to the default branch (main or master)")
}

test_init_without_analyze_fires if {
	job := fx.job("codeql", 6, {"steps": [codeql_steps[0]]})
	findings := code_scanning.deny with input as fx.repository([wf(".github/workflows/ci.yml", push_and_pr, [job])])
	count(findings) == 1
	some f in findings
	startswith(f.msg, "No workflow runs CodeQL")
}

test_step_that_never_runs_does_not_count if {
	never := fx.merge(codeql_steps[1], {"if": fx.condition("false", true, 9)})
	job := fx.job("codeql", 6, {"steps": [codeql_steps[0], never]})
	count(code_scanning.deny) == 1 with input as fx.repository([wf(".github/workflows/ci.yml", push_and_pr, [job])])
}

test_reusable_workflow_takes_the_callers_triggers if {
	caller := wf(".github/workflows/ci.yml", push_and_pr, [fx.job("call", 6, {"uses": fx.uses("./.github/workflows/codeql.yml", "local", "", "", "./.github/workflows/codeql.yml", "", "none", 7)})])
	callee := wf(".github/workflows/codeql.yml", [fx.event("workflow_call", 3)], [codeql_job])
	count(code_scanning.deny) == 0 with input as fx.repository([caller, callee])
}

test_no_codeql_points_at_first_ci_workflow if {
	docs := [
		wf(".github/workflows/a.yml", [fx.event("schedule", 3)], []),
		wf(".github/workflows/b.yml", [fx.event("pull_request", 3)], []),
	]
	findings := code_scanning.deny with input as fx.repository(docs)
	count(findings) == 1
	some f in findings
	f.path == ".github/workflows/b.yml"
	f.location == fx.loc(2, 1)
}

test_no_ci_workflow_points_at_line_1 if {
	findings := code_scanning.deny with input as fx.repository([wf(".github/workflows/a.yml", [fx.event("schedule", 3)], [])])
	count(findings) == 1
	some f in findings
	f.location == {"line": 1, "column": 1, "end_line": 1, "end_column": 1}
}

test_no_workflow_passes if {
	files := [{"path": "svc/Dockerfile", "kind": "dockerfile"}, {"path": "Dockerfile", "kind": "dockerfile"}]
	count(code_scanning.deny) == 0 with input as fx.repository_files([], files)
}

test_no_workflow_no_dockerfile_passes if {
	count(code_scanning.deny) == 0 with input as fx.repository_files([], [{"path": "go.sum", "kind": "lockfile"}])
}

test_each_repository_is_judged_on_its_own if {
	docs := [
		wf(".github/workflows/codeql.yml", push_and_pr, [codeql_job]),
		wf("examples/app/.github/workflows/ci.yml", push_and_pr, []),
	]
	findings := code_scanning.deny with input as fx.repository(docs)
	count(findings) == 1
	some f in findings
	f.path == "examples/app/.github/workflows/ci.yml"
	contains(f.msg, "of `examples/app`")
}
