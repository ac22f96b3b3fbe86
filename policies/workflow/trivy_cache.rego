# METADATA
# title: aquasecurity/setup-trivy must cache the Trivy database
# description: |
#   `aquasecurity/setup-trivy` installs Trivy; without `cache: true` (its
#   default is false) every run downloads the vulnerability database again,
#   which is slow and runs into the registry's rate limits, failing scans
#   for reasons that have nothing to do with the code.
# schemas:
#   - input: schema.workflow
# custom:
#   id: DWF204
#   severity: warning
#   kind: workflow
#   help: |
#     Turn the cache on:
#
#     ```yaml
#     - uses: aquasecurity/setup-trivy@<sha> # v0.2.4
#       with:
#         cache: true
#     ```
package dwf.workflow.trivy_cache

deny contains finding if {
	some job in input.jobs
	some step in job.steps
	setup_trivy(step.uses)
	not step["with"].cache
	msg := "`aquasecurity/setup-trivy` does not cache the Trivy database (`cache` defaults to false), so every run downloads it again; add `cache: true` to its `with:`."
	finding := {"msg": msg, "location": step.location}
}

deny contains finding if {
	some job in input.jobs
	some step in job.steps
	setup_trivy(step.uses)
	cache := step["with"].cache
	lower(cache.value) != "true"
	msg := sprintf("%s leaves the Trivy database uncached, so every run downloads it again; set `cache: true`.", [cache_text(cache)])
	finding := {"msg": msg, "location": cache.location}
}

setup_trivy(u) if {
	is_object(u)
	u.kind == "remote"
	lower(u.owner) == "aquasecurity"
	lower(u.repo) == "setup-trivy"
}

cache_text(cache) := "An empty `cache:`" if cache.value == ""

cache_text(cache) := sprintf("`cache: %s`", [cache.value]) if cache.value != ""
