# METADATA
# title: Hostile-suite bundle rule
# description: Fires on every Dockerfile, so a loaded bundle shows in the report.
# custom:
#   id: HOS901
#   severity: warning
#   kind: dockerfile
package dwf.dockerfile.hostile_bundle

deny contains {"msg": "the hostile-suite bundle was loaded"} if {
	true
}
