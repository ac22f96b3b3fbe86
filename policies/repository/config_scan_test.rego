package dwf.repository.config_scan_test

import data.dwf.repository.config_scan
import data.dwf.workflow.fixtures_test as fx

config := fx.scan("trivy-action", 10, {"subcommand": "config", "subcommand_raw": "config"})

wf(events, scans) := fx.workflow({
	"on": {"location": fx.loc(2, 1), "events": events, "schedules": []},
	"jobs": [fx.job("config", 5, {"steps": [fx.run_step(0, 9, scans)]})],
})

test_config_scan_on_pull_request_passes if {
	count(config_scan.deny) == 0 with input as fx.repository([wf([fx.event("pull_request", 3)], [config])])
}

test_config_scan_on_release_passes if {
	count(config_scan.deny) == 0 with input as fx.repository([wf([fx.event("release", 3)], [config])])
}

test_config_scan_on_tag_push_passes if {
	tags := fx.filtered("push", 3, {"tags": [fx.pattern("v*", "^v[^/]*$", 4)]})
	count(config_scan.deny) == 0 with input as fx.repository([wf([tags], [config])])
}

test_fs_with_misconfig_scanner_passes if {
	fs := fx.scan("trivy", 10, {"subcommand": "filesystem", "scanners": fx.list_setting("vuln,misconfig", "flag", ["vuln", "misconfig"], 10)})
	count(config_scan.deny) == 0 with input as fx.repository([wf([fx.event("pull_request", 3)], [fs])])
}

test_config_scan_on_branch_push_only_fires_at_on if {
	main := fx.filtered("push", 3, {"branches": [fx.pattern("main", "^main$", 4)]})
	findings := config_scan.deny with input as fx.repository([wf([main], [config])])
	count(findings) == 1
	some f in findings
	f.location == fx.loc(2, 1)
	contains(f.msg, "neither on pull requests nor at release")
}

test_fs_without_misconfig_fires if {
	fs := fx.scan("trivy", 10, {"subcommand": "filesystem"})
	findings := config_scan.deny with input as fx.repository([wf([fx.event("pull_request", 3)], [fs])])
	count(findings) == 1
	some f in findings
	startswith(f.msg, "No workflow runs Trivy in config mode")
}

test_no_workflow_passes if {
	count(config_scan.deny) == 0 with input as fx.repository_files([], [{"path": "Dockerfile", "kind": "dockerfile"}])
}
