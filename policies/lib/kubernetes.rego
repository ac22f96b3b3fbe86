# METADATA
# title: Kubernetes helpers
# description: |
#   Facts the Kubernetes rules (DWF601–DWF603) share: how a container is
#   named in messages, and what keeps a container off root. DWF602 only
#   looks at containers DWF601 accepts, so both rules read the same
#   definition.
package dwf.lib.kubernetes

import data.dwf.lib.image

# label(w, c) names container c of workload w: "container `app` of
# Deployment `web`".
label(w, c) := sprintf("%s%s of %s%s", [type_word[c.type], quoted(c.name), w.kind, quoted(w.name)])

type_word := {"init": "init container", "container": "container", "ephemeral": "ephemeral container"}

quoted(s) := sprintf(" `%s`", [s]) if s != ""

quoted(s) := "" if s == ""

# fix is the securityContext every message about the user suggests.
fix := sprintf("`runAsNonRoot: true` and `runAsUser: %v`", [image.config_uid])

# user_set(c) holds when the manifest sets c's effective runAsUser.
user_set(c) if is_object(c.effective.run_as_user)

# non_root(c) holds when c's effective runAsNonRoot is true.
non_root(c) if {
	is_object(c.effective.run_as_non_root)
	c.effective.run_as_non_root.value == true
}

# resolved(c) holds when --resolve-images filled in c's image config.
resolved(c) if is_object(c.image_config)

# where(v) says where an effective value is written.
where(v) := sprintf("the %s securityContext, line %d", [v.from, v.location.line])

# root_problems(w, c) is the set of DWF601 findings of container c: empty
# when c is kept off root.
root_problems(w, c) := (explicit_root(w, c) | image_root(w, c)) | unknown_root(w, c)

# runAsUser: 0, whatever runAsNonRoot says.
explicit_root(w, c) := {{"msg": msg, "location": u.location}} if {
	u := c.effective.run_as_user
	user_set(c)
	u.value == 0
	msg := sprintf("The %s runs as root: runAsUser is 0 (%s)%s; set %s.", [label(w, c), where(u), refused(c), fix])
} else := set()

refused(c) := ", and with `runAsNonRoot: true` the kubelet refuses to start it" if non_root(c)

else := ""

# Neither runAsUser nor runAsNonRoot: true, and the resolved image's user
# is root on some platform.
image_root(w, c) := {{"msg": msg, "location": c.image.location} |
	not user_set(c)
	not non_root(c)
	resolved(c)
	some p in c.image_config.platforms
	reason := image.root_reason(p.user)
	msg := sprintf(
		"The %s runs as root: its manifest sets neither runAsUser nor `runAsNonRoot: true`, and the image %s runs as root %s; set %s in its securityContext.",
		[label(w, c), p.subject, reason, fix],
	)
}

# Neither, and the image is not resolved: nothing in the manifest keeps
# the container off root.
unknown_root(w, c) := {{"msg": msg, "location": loc}} if {
	not user_set(c)
	not non_root(c)
	not resolved(c)
	loc := unknown_root_location(c)
	msg := sprintf(
		"Nothing keeps the %s off root: its manifest sets neither runAsUser nor `runAsNonRoot: true`%s, so the image's user decides; set %s in its securityContext.",
		[label(w, c), non_root_false(c), fix],
	)
} else := set()

unknown_root_location(c) := c.effective.run_as_non_root.location if is_object(c.effective.run_as_non_root)

else := c.image.location

non_root_false(c) := sprintf(" (runAsNonRoot is false in %s)", [where(c.effective.run_as_non_root)]) if {
	is_object(c.effective.run_as_non_root)
}

else := ""

# runs_as_root(w, c) holds when DWF601 fires for container c.
runs_as_root(w, c) if count(root_problems(w, c)) > 0
