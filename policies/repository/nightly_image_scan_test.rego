package dwf.repository.nightly_image_scan_test

import data.dwf.repository.nightly_image_scan
import data.dwf.workflow.fixtures_test as fx

image_step := fx.run_step(0, 9, [fx.scan("trivy", 10, {})])

fs_step := fx.run_step(0, 9, [fx.scan("trivy", 10, {"subcommand": "filesystem"})])

wf(path, schedules, steps) := fx.workflow({
	"path": path,
	"on": {"location": fx.loc(2, 1), "events": [fx.event("push", 2)], "schedules": schedules},
	"jobs": [fx.job("scan", 5, {"steps": steps})],
})

caller(path, schedules, callee) := fx.workflow({
	"path": path,
	"on": {"location": fx.loc(2, 1), "events": [fx.event("schedule", 2)], "schedules": schedules},
	"jobs": [fx.job("scan", 5, {"uses": fx.uses(callee, "local", "", "", callee, "", "none", 6)})],
})

daily := [fx.schedule("0 3 * * *", true, 4)]

weekly := [fx.schedule("0 3 * * 1", false, 4)]

test_image_scan_without_schedule_fires if {
	nightly_image_scan.deny == {{
		"msg": "Trivy scans images in `.github/workflows/ci.yml`, but no workflow that scans images runs on a daily schedule, so vulnerabilities published after a build go unnoticed until the next push; add `schedule: [{cron: '0 3 * * *'}]` under `on:`.",
		"location": fx.loc(2, 1),
		"path": ".github/workflows/ci.yml",
	}} with input as fx.repository([wf(".github/workflows/ci.yml", [], [image_step])])
}

test_points_at_first_scanning_workflow if {
	docs := [wf(".github/workflows/z.yml", [], [image_step]), wf(".github/workflows/a.yml", weekly, [image_step])]
	findings := nightly_image_scan.deny with input as fx.repository(docs)
	count(findings) == 1
	some f in findings
	f.path == ".github/workflows/a.yml"
	contains(f.msg, "and 1 other workflow(s)")
}

test_daily_schedule_without_image_scan_fires if {
	docs := [wf(".github/workflows/nightly.yml", daily, [fs_step]), wf(".github/workflows/ci.yml", [], [image_step])]
	count(nightly_image_scan.deny) == 1 with input as fx.repository(docs)
}

test_daily_image_scan_passes if {
	count(nightly_image_scan.deny) == 0 with input as fx.repository([wf(".github/workflows/ci.yml", daily, [image_step])])
}

test_daily_caller_of_reusable_scan_passes if {
	docs := [
		caller(".github/workflows/nightly.yml", daily, "./.github/workflows/scan.yml"),
		wf(".github/workflows/scan.yml", [], [image_step]),
	]
	count(nightly_image_scan.deny) == 0 with input as fx.repository(docs)
}

test_transitive_reusable_scan_passes if {
	docs := [
		caller(".github/workflows/nightly.yml", daily, "./.github/workflows/mid.yml"),
		caller(".github/workflows/mid.yml", [], "./.github/workflows/scan.yml"),
		wf(".github/workflows/scan.yml", [], [image_step]),
	]
	count(nightly_image_scan.deny) == 0 with input as fx.repository(docs)
}

test_no_image_scans_pass if {
	count(nightly_image_scan.deny) == 0 with input as fx.repository([wf(".github/workflows/ci.yml", [], [fs_step])])
}

test_no_documents_pass if {
	count(nightly_image_scan.deny) == 0 with input as {"kind": "repository", "documents": []}
}

test_other_kinds_are_ignored if {
	docs := [{"path": "Dockerfile", "kind": "dockerfile", "input": {"final": {}}}]
	count(nightly_image_scan.deny) == 0 with input as {"kind": "repository", "documents": docs}
}
