package dwf.repository.dependency_scan_test

import data.dwf.repository.dependency_scan
import data.dwf.workflow.fixtures_test as fx

fs_scan(fields) := fx.scan("trivy", 10, fx.merge({"subcommand": "filesystem", "subcommand_raw": "fs", "command": "trivy fs --exit-code 1 --severity CRITICAL,HIGH ."}, fields))

wf(path, events, scans) := fx.workflow({
	"path": path,
	"on": {"location": fx.loc(2, 1), "events": events, "schedules": []},
	"jobs": [fx.job("deps", 5, {"steps": [fx.run_step(0, 9, scans)]})],
})

test_gating_fs_scan_on_pull_request_passes if {
	count(dependency_scan.deny) == 0 with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request", 3)], [fs_scan({})])])
}

test_pull_request_target_counts if {
	count(dependency_scan.deny) == 0 with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request_target", 3)], [fs_scan({})])])
}

test_matrix_mode_counts if {
	scan := fs_scan({"subcommand": "", "subcommand_raw": "${{ matrix.mode }}", "subcommands": ["config", "filesystem"]})
	count(dependency_scan.deny) == 0 with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request", 3)], [scan])])
}

test_scan_that_does_not_gate_fires_at_the_scan if {
	scan := fs_scan({"exit_code": fx.exit_code("0", "flag", 0, 10)})
	findings := dependency_scan.deny with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request", 3)], [scan])])
	count(findings) == 1
	some f in findings
	f.location == fx.loc(10, 11)
	f.msg == "The dependency scan that pull requests run is not a gate: The Trivy exit code from the flag is `0`, so findings never fail the build; add `--exit-code 1` to the command."
}

test_another_scan_of_the_step_does_not_count if {
	bad_image := fx.scan("trivy", 11, {"exit_code": fx.exit_code("0", "flag", 0, 11)})
	count(dependency_scan.deny) == 0 with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request", 3)], [fs_scan({}), bad_image])])
}

test_push_only_fires_at_on if {
	findings := dependency_scan.deny with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("push", 3)], [fs_scan({})])])
	count(findings) == 1
	some f in findings
	f.location == fx.loc(2, 1)
	contains(f.msg, "not on pull requests")
	contains(f.msg, "pull_request_target")
}

test_image_scan_only_fires if {
	findings := dependency_scan.deny with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request", 3)], [fx.scan("trivy", 10, {})])])
	count(findings) == 1
	some f in findings
	startswith(f.msg, "No workflow runs Trivy in filesystem or repository mode")
}

test_reusable_scan_called_on_pull_request_passes if {
	caller := fx.workflow({
		"path": ".github/workflows/ci.yml",
		"on": {"location": fx.loc(1, 1), "events": [fx.event("pull_request", 1)], "schedules": []},
		"jobs": [fx.job("call", 5, {"uses": fx.uses("./.github/workflows/deps.yml", "local", "", "", "./.github/workflows/deps.yml", "", "none", 6)})],
	})
	callee := wf(".github/workflows/deps.yml", [fx.event("workflow_call", 3)], [fs_scan({})])
	count(dependency_scan.deny) == 0 with input as fx.repository([caller, callee])
}

test_severity_from_config if {
	scan := fs_scan({"severity": fx.list_setting("CRITICAL", "flag", ["CRITICAL"], 10)})
	docs := [wf(".github/workflows/ci.yml", [fx.event("pull_request", 3)], [scan])]
	count(dependency_scan.deny) == 1 with input as fx.repository(docs)
	count(dependency_scan.deny) == 0 with input as fx.repository(docs) with data.dwf.config.trivy_severities as ["CRITICAL"]
}

test_no_workflow_passes if {
	count(dependency_scan.deny) == 0 with input as fx.repository_files([], [{"path": "Dockerfile", "kind": "dockerfile"}, {"path": "go.sum", "kind": "lockfile"}])
}

test_scan_on_pull_request_target_that_does_not_gate_says_it_is_riskier if {
	scan := fs_scan({"exit_code": fx.exit_code("0", "flag", 0, 10)})
	findings := dependency_scan.deny with input as fx.repository([wf(".github/workflows/ci.yml", [fx.event("pull_request_target", 3)], [scan])])
	count(findings) == 1
	some f in findings
	contains(f.msg, "It runs on `pull_request_target`")
}
