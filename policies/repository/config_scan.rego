# METADATA
# title: Configuration must be scanned with Trivy on pull requests or releases
# description: |
#   The third scanning layer of the Devflow standard: some workflow runs
#   Trivy in config mode (aquasecurity/trivy-action with `scan-type:
#   config`, `trivy config` in a script or through Docker, or a filesystem
#   or repository scan whose scanners include `misconfig`; a mode a matrix
#   gives it counts), directly or in a local reusable workflow it calls,
#   on pull requests (`pull_request` or `pull_request_target` into the
#   default branch) or at release (`release`, or a `push` that runs for
#   tags). Each repository (the directory holding a `.github/workflows`)
#   is judged on its own. The finding points at the `on:` of the workflow
#   that scans configuration on other triggers only, else at the `on:` of
#   the first workflow run by pull requests or at release, else at line 1
#   of the first workflow. A repository without any workflow gets no
#   finding: it does not use GitHub Actions (it may run its CI elsewhere),
#   and nothing in it is a place for the finding.
# schemas:
#   - input: schema.repository
# custom:
#   id: DWF209
#   severity: warning
#   kind: repository
#   inputs: [workflow]
#   help: |
#     Scan Dockerfiles, Kubernetes manifests and other configuration on
#     pull requests:
#
#     ```yaml
#     on:
#       pull_request:
#     permissions:
#       contents: read
#     jobs:
#       configuration:
#         runs-on: ubuntu-latest
#         steps:
#           - uses: actions/checkout@<sha> # v4
#           - uses: aquasecurity/trivy-action@<sha> # 0.28.0
#             with:
#               scan-type: config
#               scan-ref: .
#               exit-code: '1'
#               severity: 'CRITICAL,HIGH'
#     ```
#
#     or add the misconfiguration scanner to the filesystem scan:
#     `trivy fs --scanners vuln,misconfig --exit-code 1 .`.
package dwf.repository.config_scan

import data.dwf.lib.repository as lib

config_scan(scan) if "config" in scan.subcommands

config_scan(scan) if {
	some m in scan.subcommands
	m in {"filesystem", "repository"}
	some s in scan.scanners.list
	lower(s) in {"misconfig", "config"}
}

scanning_paths := {d.path |
	some d in lib.workflows
	some s in lib.scans(d)
	config_scan(s.scan)
}

# when(e) holds for the events the layer runs on: pull requests and
# releases.
when(e) if lib.on_pull_requests(e)

when(e) if e.name == "release"

when(e) if lib.on_tags(e)

covered(r) if {
	some d in lib.in_root(r)
	some e in lib.own_events(d)
	when(e)
	some p in lib.reach(d)
	p in scanning_paths
}

reaching(r) := [d |
	some d in lib.in_root(r)
	count(lib.own_events(d)) > 0
	some p in lib.reach(d)
	p in scanning_paths
]

deny contains finding if {
	some r in lib.roots
	not covered(r)
	count(reaching(r)) > 0
	d := reaching(r)[0]
	msg := sprintf("`%s` scans configuration with Trivy, but neither on pull requests nor at release, so a misconfiguration can ship before it is scanned; add `pull_request:` (or `release:`) under `on:`.", [d.path])
	finding := {"msg": msg, "location": d.input.on.location, "path": d.path}
}

deny contains finding if {
	some r in lib.roots
	count(reaching(r)) == 0
	[path, location] := anchor(r)
	msg := sprintf("No workflow%s runs Trivy in config mode (or with the `misconfig` scanner) on pull requests or at release, so misconfigured Dockerfiles, manifests and IaC go unnoticed; add a `trivy config` scan to a workflow run by `pull_request`.", [lib.root_text(r)])
	finding := {"msg": msg, "location": location, "path": path}
}

anchor(r) := [d.path, d.input.on.location] if {
	cands := [w |
		some w in lib.in_root(r)
		some e in lib.own_events(w)
		when(e)
	]
	d := cands[0]
}

anchor(r) := [d.path, lib.first_line] if {
	not any_when(r)
	d := lib.in_root(r)[0]
}

any_when(r) if {
	some w in lib.in_root(r)
	some e in lib.own_events(w)
	when(e)
}
