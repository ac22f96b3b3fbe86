# METADATA
# title: The workflow's top-level permissions must be contents:read
# description: |
#   A workflow must declare a root-level `permissions:` block that keeps the
#   GITHUB_TOKEN read-only: `{}`, or a mapping where no scope is `write` and
#   `contents` is `read`, `none` or absent. A missing block (the token gets
#   the repository's default, often write), `write-all`, `read-all` and any
#   root scope at `write` fire. Job-level permissions never satisfy this
#   rule: they are what a job adds on top. Scope names are case-sensitive,
#   as GitHub reads them. A `permissions:` key with no value, at the root or
#   in a job, is not `{}`: GitHub refuses the workflow ("Unexpected value
#   ''"), so it is reported as DWF000 at the key.
# schemas:
#   - input: schema.workflow
# custom:
#   id: DWF201
#   severity: error
#   kind: workflow
#   help: |
#     Declare read-only permissions at the top of the workflow and grant
#     write scopes only to the jobs that need them:
#
#     ```yaml
#     on: push
#     permissions:
#       contents: read
#     jobs:
#       scan:
#         runs-on: ubuntu-latest
#         permissions:
#           contents: read
#           security-events: write   # upload SARIF
#         steps: ...
#     ```
#
#     `permissions: {}` (no scopes at all) also passes.
package dwf.workflow.top_level_permissions

deny contains finding if {
	is_null(input.permissions)
	msg := "The workflow has no top-level `permissions:` block, so every job's GITHUB_TOKEN gets the repository's default scopes (often write); add `permissions: {contents: read}` at the top level, beside `on:`."
	finding := {"msg": msg, "location": input.on.location}
}

deny contains finding if {
	p := input.permissions
	is_object(p)
	p.all == "write-all"
	msg := "`permissions: write-all` gives every job's GITHUB_TOKEN write access to every scope; use `permissions: {contents: read}` and grant write scopes in the jobs that need them."
	finding := {"msg": msg, "location": p.location}
}

deny contains finding if {
	p := input.permissions
	is_object(p)
	p.all == "read-all"
	msg := "`permissions: read-all` gives every job's GITHUB_TOKEN read access to every scope; use `permissions: {contents: read}` and grant other scopes in the jobs that need them."
	finding := {"msg": msg, "location": p.location}
}

deny contains finding if {
	p := input.permissions
	is_object(p)
	p.all != ""
	not p.all in {"write-all", "read-all"}
	msg := sprintf("`permissions: %s` is not a permissions level GitHub accepts; use `permissions: {contents: read}`.", [p.all])
	finding := {"msg": msg, "location": p.location}
}

deny contains finding if {
	some name, scope in input.permissions.scopes
	scope.level == "write"
	msg := sprintf("The top-level `permissions:` grants `%s: write` to every job; keep the top level at `contents: read` and grant `%s: write` in the job that needs it.", [name, name])
	finding := {"msg": msg, "location": scope.location}
}

deny contains finding if {
	some name, scope in input.permissions.scopes
	not scope.level in {"read", "write", "none"}
	msg := sprintf("`%s: %s` is not a permission level (read, write or none); use `%s: read`.", [name, scope.level, name])
	finding := {"msg": msg, "location": scope.location}
}
