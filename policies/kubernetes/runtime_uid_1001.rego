# METADATA
# title: A workload's containers must run as the standard UID
# description: >-
#   Judged per container where DWF601 does not fire: the effective UID is
#   the effective runAsUser (the container's securityContext over the
#   pod's), else the user of the image resolved by `--resolve-images` (by
#   name through its /etc/passwd, on every platform). It must be the
#   configured UID (1001 by default); an unknown UID fires too. runAsGroup
#   is not judged.
# schemas:
#   - input: schema.kubernetes
# custom:
#   id: DWF602
#   severity: error
#   kind: kubernetes
#   help: |
#     Set the standard UID in the securityContext, so the container runs as
#     it whatever the image says:
#
#     ```yaml
#     securityContext:
#       runAsNonRoot: true
#       runAsUser: 1001
#     ```
package dwf.kubernetes.runtime_uid_1001

import data.dwf.lib.image
import data.dwf.lib.kubernetes as lib

deny contains finding if {
	some w in input.workloads
	some c in w.containers
	not lib.runs_as_root(w, c)
	some finding in problems(w, c)
}

# problems(w, c) is the set of DWF602 findings of container c.
problems(w, c) := {{"msg": msg, "location": u.location}} if {
	lib.user_set(c)
	u := c.effective.run_as_user
	u.value != image.config_uid
	msg := sprintf(
		"The %s runs as UID %v (runAsUser in %s) instead of the standard UID %v; set `runAsUser: %v`.",
		[lib.label(w, c), u.value, lib.where(u), image.config_uid, image.config_uid],
	)
} else := {{"msg": msg, "location": c.image.location}} if {
	not lib.user_set(c)
	not lib.resolved(c)
	msg := sprintf(
		"The UID of the %s is unknown: its manifest sets no runAsUser and its image `%s` was not resolved; set `runAsUser: %v` in its securityContext.",
		[lib.label(w, c), c.image.value, image.config_uid],
	)
} else := {{"msg": msg, "location": c.image.location} |
	not lib.user_set(c)
	some p in c.image_config.platforms
	msg := image_problem(w, c, p)
}

# image_problem says what is wrong with the UID that platform p of c's
# image runs as; undefined when it is the standard UID.
image_problem(w, c, p) := sprintf(
	"The %s runs as root from the image %s, which `runAsNonRoot: true` makes the kubelet refuse; set `runAsUser: %v`.",
	[lib.label(w, c), p.subject, image.config_uid],
) if {
	image.runs_as_root(p.user)
} else := sprintf(
	"The UID of the %s is unknown: the image %s runs as user `%s`, which its /etc/passwd does not resolve; set `runAsUser: %v`.",
	[lib.label(w, c), p.subject, p.user.raw, image.config_uid],
) if {
	is_null(p.user.resolved_uid)
} else := sprintf(
	"The %s runs as UID %v from the image %s (user `%s`) instead of the standard UID %v; set `runAsUser: %v`.",
	[lib.label(w, c), p.user.resolved_uid, p.subject, p.user.raw, image.config_uid, image.config_uid],
) if {
	p.user.resolved_uid != image.config_uid
}
