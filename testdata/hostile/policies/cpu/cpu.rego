# METADATA
# title: Hostile-suite CPU rule
# description: Loops 300^4 times in constant memory; only a deadline or a signal stops it.
# custom:
#   id: HOS911
#   severity: warning
#   kind: workflow
package dwf.workflow.hostile_cpu

xs := numbers.range(1, 300)

deny contains {"msg": "unreachable"} if {
	some a in xs
	some b in xs
	some c in xs
	some d in xs
	a + b + c + d < 0
}
