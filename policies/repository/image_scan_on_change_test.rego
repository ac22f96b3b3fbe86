package dwf.repository.image_scan_on_change_test

import data.dwf.repository.image_scan_on_change as rule
import data.dwf.workflow.fixtures_test as fx

files := [
	{"path": "Dockerfile", "kind": "dockerfile"},
	{"path": "go.sum", "kind": "lockfile"},
	{"path": "svc/api/Dockerfile", "kind": "dockerfile"},
	{"path": "svc/api/package-lock.json", "kind": "lockfile"},
	{"path": "tools/yarn.lock", "kind": "lockfile"},
]

wf(events) := fx.workflow({
	"on": {"location": fx.loc(1, 1), "events": events, "schedules": []},
	"jobs": [fx.job("scan", 5, {"steps": [fx.run_step(0, 9, [fx.scan("trivy", 10, {})])]})],
})

all_dockerfiles := fx.pattern("**/Dockerfile", `^(?:.*/)?Dockerfile$`, 4)

go_sum := fx.pattern("go.sum", `^go\.sum$`, 5)

api_lock := fx.pattern("svc/*/package-lock.json", `^svc/[^/]*/package-lock\.json$`, 6)

test_filter_letting_everything_through_passes if {
	push := fx.filtered("push", 2, {"paths": [all_dockerfiles, go_sum, api_lock]})
	count(rule.deny) == 0 with input as fx.repository_files([wf([push])], files)
}

test_unfiltered_events_pass if {
	count(rule.deny) == 0 with input as fx.repository_files([wf([fx.event("push", 2)])], files)
}

test_lockfile_outside_a_dockerfile_directory_does_not_count if {
	# tools/yarn.lock is neither at the root nor beside a Dockerfile.
	push := fx.filtered("push", 2, {"paths": [all_dockerfiles, go_sum, api_lock]})
	count(rule.deny) == 0 with input as fx.repository_files([wf([push])], files)
}

test_missing_lockfile_fires_at_event if {
	push := fx.filtered("push", 2, {"paths": [all_dockerfiles, go_sum]})
	findings := rule.deny with input as fx.repository_files([wf([push])], files)
	count(findings) == 1
	some f in findings
	f.location == fx.loc(2, 5)
	contains(f.msg, "A change to `svc/api/package-lock.json` does not trigger the image scan")
	contains(f.msg, "no pattern of `on.push.paths` matches it")
}

test_negation_fires_at_the_pattern if {
	no_svc := fx.pattern("!svc/**", `^svc/.*$`, 7)
	push := fx.filtered("push", 2, {"paths": [all_dockerfiles, go_sum, api_lock, no_svc]})
	findings := rule.deny with input as fx.repository_files([wf([push])], files)
	count(findings) == 1
	some f in findings
	f.location == fx.loc(7, 9)
	contains(f.msg, "`svc/api/Dockerfile` (nor to `svc/api/package-lock.json`)")
	contains(f.msg, "`!svc/**` in `on.push.paths` excludes it")
}

test_paths_ignore_fires if {
	pr := fx.filtered("pull_request", 2, {"paths_ignore": [fx.pattern("*.sum", `^[^/]*\.sum$`, 3)]})
	findings := rule.deny with input as fx.repository_files([wf([pr])], files)
	count(findings) == 1
	some f in findings
	contains(f.msg, "`*.sum` in `on.pull_request.paths-ignore` ignores it")
}

test_workflow_without_image_scan_passes if {
	push := fx.filtered("push", 2, {"paths": [go_sum]})
	doc := fx.workflow({"on": {"location": fx.loc(1, 1), "events": [push], "schedules": []}})
	count(rule.deny) == 0 with input as fx.repository_files([doc], files)
}

test_caller_of_reusable_scan_is_judged if {
	push := fx.filtered("push", 2, {"paths": [go_sum]})
	caller := fx.workflow({
		"on": {"location": fx.loc(1, 1), "events": [push], "schedules": []},
		"jobs": [fx.job("call", 5, {"uses": fx.uses("./.github/workflows/scan.yml", "local", "", "", "./.github/workflows/scan.yml", "", "none", 6)})],
	})
	callee := fx.merge(wf([fx.event("workflow_call", 1)]), {"path": ".github/workflows/scan.yml"})
	findings := rule.deny with input as fx.repository_files([caller, callee], files)
	count(findings) == 1
	some f in findings
	f.path == ".github/workflows/ci.yml"
}

test_configured_lockfiles_only_are_listed if {
	# The Go side lists only configured lockfiles: with none listed, only
	# Dockerfiles are judged.
	push := fx.filtered("push", 2, {"paths": [all_dockerfiles]})
	dockerfiles := [f | some f in files; f.kind == "dockerfile"]
	count(rule.deny) == 0 with input as fx.repository_files([wf([push])], dockerfiles)
}
