# METADATA
# title: Images scanned with Trivy must also be scanned nightly
# description: |
#   New vulnerabilities are published every day for images that have not
#   changed. When some workflow scans images with Trivy but no workflow that
#   scans images runs on a daily `schedule` (directly, or by calling a local
#   reusable workflow that scans), one finding points at the `on:` of the
#   first workflow that scans.
# schemas:
#   - input: schema.repository
# custom:
#   id: DWF206
#   severity: note
#   kind: repository
#   inputs: [workflow]
#   help: |
#     Add a daily schedule to the workflow that scans the image, or a
#     nightly workflow that scans the released image:
#
#     ```yaml
#     on:
#       push:
#         branches: [main]
#       schedule:
#         - cron: '0 3 * * *'   # every day at 03:00 UTC
#     ```
package dwf.repository.nightly_image_scan

workflows := [d | some d in input.documents; d.kind == "workflow"]

# scans_images(doc) holds when doc runs a Trivy image scan; a matrix may
# give the scan its mode.
scans_images(doc) if {
	some job in doc.input.jobs
	some step in job.steps
	some scan in step.trivy_scans
	"image" in scan.subcommands
}

runs_daily(doc) if {
	some s in doc.input.on.schedules
	s.daily
}

# calls[path] is the set of workflow paths that workflow calls as local
# reusable workflows (`uses: ./.github/workflows/scan.yml`).
calls[doc.path] := {callee.path |
	some job in doc.input.jobs
	u := job.uses
	is_object(u)
	u.kind == "local"
	some callee in workflows
	endswith(callee.path, trim_prefix(u.path, "./"))
} if {
	some doc in workflows
}

nightly_scan if {
	some doc in workflows
	runs_daily(doc)
	some p in graph.reachable(calls, {doc.path})
	some w in workflows
	w.path == p
	scans_images(w)
}

deny contains finding if {
	not nightly_scan
	scanning := sort([doc.path | some doc in workflows; scans_images(doc)])
	count(scanning) > 0
	some doc in workflows
	doc.path == scanning[0]
	others := count(scanning) - 1
	msg := sprintf("Trivy scans images in `%s`%s, but no workflow that scans images runs on a daily schedule, so vulnerabilities published after a build go unnoticed until the next push; add `schedule: [{cron: '0 3 * * *'}]` under `on:`.", [doc.path, more(others)])
	finding := {"msg": msg, "location": doc.input.on.location, "path": doc.path}
}

more(0) := ""

more(n) := sprintf(" and %d other workflow(s)", [n]) if n > 0
