# METADATA
# title: A job must not set permissions write-all
# description: |
#   `permissions: write-all` on a job gives its GITHUB_TOKEN write access to
#   every scope (contents, packages, actions, id-token, ...), so any step or
#   action in the job can push code or publish packages. List the scopes the
#   job needs instead.
# schemas:
#   - input: schema.workflow
# custom:
#   id: DWF202
#   severity: warning
#   kind: workflow
#   help: |
#     Grant only the scopes the job uses:
#
#     ```yaml
#     jobs:
#       release:
#         runs-on: ubuntu-latest
#         permissions:
#           contents: write    # create the release
#           packages: write    # push the image
#     ```
package dwf.workflow.job_write_all

deny contains finding if {
	some job in input.jobs
	p := job.permissions
	is_object(p)
	p.all == "write-all"
	msg := sprintf("Job `%s` sets `permissions: write-all`, giving its GITHUB_TOKEN write access to every scope; list only the scopes it needs, e.g. `permissions: {contents: read, packages: write}`.", [job.id])
	finding := {"msg": msg, "location": p.location}
}
