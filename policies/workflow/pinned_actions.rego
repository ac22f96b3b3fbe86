# METADATA
# title: Actions and reusable workflows must be pinned to a commit SHA
# description: |
#   A `uses:` of a remote action or reusable workflow must name a full
#   40-character commit SHA: tags and branches can be moved to other code
#   after review. Local actions and workflows (`./path`), self-repository
#   references (`$/path`, the workflow's own repository at the commit that
#   is running) and Docker actions pinned by digest
#   (`docker://image@sha256:...`) pass. Whitespace around the value, such
#   as the final newline of a block scalar (`uses: |`), is not part of the
#   reference: a full SHA written that way is still a pin.
# schemas:
#   - input: schema.workflow
# custom:
#   id: DWF205
#   severity: warning
#   kind: workflow
#   help: |
#     Pin the commit the tag points at, and keep the tag as a comment so
#     updates stay readable (Dependabot and Renovate update both):
#
#     ```yaml
#     - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
#     ```
#
#     For a Docker action, pin the digest:
#     `uses: docker://alpine@sha256:<digest>`.
package dwf.workflow.pinned_actions

deny contains finding if {
	some job in input.jobs
	some step in job.steps
	u := step.uses
	is_object(u)
	msg := unpinned(u)
	finding := {"msg": msg, "location": u.location}
}

deny contains finding if {
	some job in input.jobs
	u := job.uses
	is_object(u)
	msg := unpinned(u)
	finding := {"msg": msg, "location": u.location}
}

unpinned(u) := msg if {
	u.kind == "remote"
	u.ref_kind != "sha"
	msg := sprintf("`%s` %s; pin it to a full 40-character commit SHA (`%s@<sha>%s`).", [u.value, ref_problem(u), name(u), ref_comment(u)])
}

unpinned(u) := msg if {
	u.kind == "docker"
	u.ref_kind != "digest"
	msg := sprintf("`%s` is not pinned to a digest, so the image can change under the same name; pin it as `docker://%s@sha256:<digest>`.", [u.value, u.image])
}

name(u) := concat("/", [u.owner, u.repo]) if u.path == ""

name(u) := concat("/", [u.owner, u.repo, u.path]) if u.path != ""

ref_problem(u) := "names no ref, so it runs whatever the default branch holds" if u.ref_kind == "none"

ref_problem(u) := sprintf("is pinned to the short SHA `%s`, which can be made to match other code", [u.ref]) if u.ref_kind == "short_sha"

ref_problem(u) := sprintf("is pinned to the tag `%s`, which can be moved to other code", [u.ref]) if u.ref_kind == "tag"

ref_problem(u) := sprintf("is pinned to `%s`, a branch or tag that can be moved to other code", [u.ref]) if u.ref_kind == "branch"

# The tag stays readable as a comment beside the SHA.
ref_comment(u) := sprintf(" # %s", [u.ref]) if u.ref_kind in {"tag", "branch"}

ref_comment(u) := "" if not u.ref_kind in {"tag", "branch"}
