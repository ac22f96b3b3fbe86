# METADATA
# title: Hostile-suite memory rule
# description: Builds an array of 10^12 numbers; only the memory budget stops it.
# custom:
#   id: HOS910
#   severity: warning
#   kind: workflow
package dwf.workflow.hostile_memory

deny contains {"msg": sprintf("%d numbers", [count(numbers.range(0, 1e12))])} if {
	true
}
