# METADATA
# title: Dependencies must be scanned with Trivy on every pull request, as a gate
# description: |
#   The second scanning layer of the Devflow standard: some workflow run
#   by `pull_request` into the default branch runs Trivy in filesystem or
#   repository mode (aquasecurity/trivy-action with `scan-type: fs` or
#   `repo`, `trivy fs|repo` in a script or through Docker, a mode a
#   matrix gives it), directly or in a local reusable workflow it calls,
#   and that scan gates: DWF203 finds nothing wrong with it.
#   `pull_request_target` counts too, though it is riskier: it runs with
#   the base repository's secrets and a write token. Each repository (the
#   directory holding a `.github/workflows`) is judged on its own. The
#   finding points at the scan that runs on pull requests but does not
#   gate, else at the `on:` of the workflow that scans dependencies but
#   not on pull requests, else at the `on:` of the first workflow run by
#   pull requests, else at line 1 of the first workflow. A repository
#   without any workflow gets no finding: it does not use GitHub Actions
#   (it may run its CI elsewhere), and nothing in it is a place for the
#   finding.
# schemas:
#   - input: schema.repository
# custom:
#   id: DWF208
#   severity: warning
#   kind: repository
#   inputs: [workflow]
#   help: |
#     Scan the dependencies on every pull request and fail on the blocking
#     severities:
#
#     ```yaml
#     on:
#       pull_request:
#     permissions:
#       contents: read
#     jobs:
#       dependencies:
#         runs-on: ubuntu-latest
#         steps:
#           - uses: actions/checkout@<sha> # v4
#           - uses: aquasecurity/trivy-action@<sha> # 0.28.0
#             with:
#               scan-type: fs
#               scan-ref: .
#               exit-code: '1'
#               severity: 'CRITICAL,HIGH'
#     ```
package dwf.repository.dependency_scan

import data.dwf.lib.repository as lib
import data.dwf.lib.workflow as wlib
import data.dwf.workflow.trivy_gate

dependency_modes := {"filesystem", "repository"}

# dependency_scans(doc) is doc's scans in filesystem or repository mode.
dependency_scans(doc) := [s |
	some s in lib.scans(doc)
	some m in s.scan.subcommands
	m in dependency_modes
]

# problems(s) is what DWF203 finds wrong with scan s, sorted: its step
# reduced to that scan, so other scans of the step do not count.
problems(s) := sort(trivy_gate.problems(s.job, object.union(s.step, {"trivy_scans": [s.scan]})))

gates(s) if count(problems(s)) == 0

scanning_paths := {d.path | some d in lib.workflows; count(dependency_scans(d)) > 0}

gating_paths := {d.path |
	some d in lib.workflows
	some s in dependency_scans(d)
	gates(s)
}

# pr_reaching(r, paths) is the workflows of r that pull requests run and
# that reach a workflow in paths.
pr_reaching(r, paths) := [d |
	some d in lib.in_root(r)
	some e in lib.own_events(d)
	lib.on_pull_requests(e)
	some p in lib.reach(d)
	p in paths
]

reaching(r, paths) := [d |
	some d in lib.in_root(r)
	count(lib.own_events(d)) > 0
	some p in lib.reach(d)
	p in paths
]

# A scan runs on pull requests but does not gate.
deny contains finding if {
	some r in lib.roots
	count(pr_reaching(r, gating_paths)) == 0
	count(pr_reaching(r, scanning_paths)) > 0
	d := pr_reaching(r, scanning_paths)[0]
	callee := first_callee(d)
	s := dependency_scans(callee)[0]
	p := problems(s)[0]
	msg := sprintf("The dependency scan that pull requests run is not a gate: %s%s", [p[3], target_note(d)])
	finding := {"msg": msg, "location": s.scan.location, "path": callee.path}
}

# Dependencies are scanned, but not on pull requests.
deny contains finding if {
	some r in lib.roots
	count(pr_reaching(r, scanning_paths)) == 0
	count(reaching(r, scanning_paths)) > 0
	d := reaching(r, scanning_paths)[0]
	msg := sprintf("`%s` scans dependencies with Trivy, but not on pull requests into the default branch, so a vulnerable dependency is found only after it is merged; add `pull_request:` under `on:` (`pull_request_target` also counts, but it runs with the repository's secrets and a write token, which is riskier).", [d.path])
	finding := {"msg": msg, "location": d.input.on.location, "path": d.path}
}

# Nothing scans dependencies.
deny contains finding if {
	some r in lib.roots
	count(reaching(r, scanning_paths)) == 0
	[path, location] := anchor(r)
	msg := sprintf("No workflow%s runs Trivy in filesystem or repository mode on pull requests, so vulnerable dependencies are merged unnoticed; add a `trivy fs` scan that fails on %s to a workflow run by `pull_request`.", [lib.root_text(r), wlib.required_list])
	finding := {"msg": msg, "location": location, "path": path}
}

# target_note(d) warns when pull requests run d only through
# pull_request_target, which is riskier than pull_request.
target_note(d) := " It runs on `pull_request_target`, which gives the job the repository's secrets and a write token: prefer `pull_request` for a scan of the pull request's code." if {
	every e in lib.own_events(d) {
		e.name != "pull_request"
	}
}

target_note(d) := "" if {
	some e in lib.own_events(d)
	e.name == "pull_request"
}

# first_callee(d) is the first workflow d reaches that scans dependencies,
# d itself first.
first_callee(d) := w if {
	paths := [p | some p in sort(lib.reach(d)); p in scanning_paths]
	ordered := array.concat([p | some p in paths; p == d.path], [p | some p in paths; p != d.path])
	some w in lib.workflows
	w.path == ordered[0]
}

anchor(r) := [d.path, d.input.on.location] if {
	cands := [w |
		some w in lib.in_root(r)
		some e in lib.own_events(w)
		lib.on_pull_requests(e)
	]
	d := cands[0]
}

anchor(r) := [d.path, lib.first_line] if {
	not any_pr(r)
	d := lib.in_root(r)[0]
}

any_pr(r) if {
	some w in lib.in_root(r)
	some e in lib.own_events(w)
	lib.on_pull_requests(e)
}
