# METADATA
# title: The final stage must run as the standard UID
# description: |
#   The image must run as the configured UID (1001 by default) so that file
#   ownership, volume permissions and Kubernetes `runAsUser` agree across
#   images. The effective USER passes when its user part is that UID
#   (compared numerically, any group), the configured user name (`dwfuser`),
#   or a name the final stage chain creates with that UID. Checked only when
#   DWF101 accepts the user, so a root or missing USER is reported once.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: DWF102
#   severity: error
#   kind: dockerfile
#   help: |
#     Run as UID 1001 (the configured `uid`), either by number or through a
#     user created with that UID. The group does not matter.
#
#     ```dockerfile
#     FROM node:22-slim
#     RUN groupadd --gid 1001 dwfuser \
#      && useradd --uid 1001 --gid 1001 --create-home dwfuser
#     USER dwfuser
#     ```
#
#     Base-image users such as `node` (1000) or `nobody` (65534) have other
#     UIDs; `USER 1001` works without creating a user at all.
package dwf.dockerfile.uid_1001

import data.dwf.lib.dockerfile as lib

# A numeric USER with another UID.
deny contains finding if {
	lib.final_user_ok
	user := input.final.user
	is_number(user.uid)
	user.uid != lib.config_uid
	msg := sprintf(
		"The final stage runs as UID %v %s instead of the standard UID %v; use `USER %v`.",
		[user.uid, lib.user_source(user), lib.config_uid, lib.config_uid],
	)
	finding := {"msg": msg, "location": user.location}
}

# A named USER that the final chain creates with another UID; this includes
# the configured name, which is only standard with the standard UID.
deny contains finding if {
	lib.final_user_ok
	user := input.final.user
	is_null(user.uid)
	some created in other_uid_creations(user.name)
	msg := sprintf(
		"%s creates `%s` with UID %v, so the final stage (%s) runs as UID %v instead of the standard UID %v; create the user with `-u %v`.",
		[created.tool, created.name, created.uid, lib.user_display(user), created.uid, lib.config_uid, lib.config_uid],
	)
	finding := {"msg": msg, "location": created.location}
}

# A named USER that is neither the configured name nor created with the
# configured UID.
deny contains finding if {
	lib.final_user_ok
	user := input.final.user
	is_null(user.uid)
	user.name != lib.config_user
	count(other_uid_creations(user.name)) == 0
	not created_with_config_uid(user.name)
	msg := sprintf(
		"The final stage runs as `%s` %s, %s; use `USER %v`, or create `%s` with `-u %v`.",
		[user.name, lib.user_source(user), why_not_standard(user.name), lib.config_uid, user.name, lib.config_uid],
	)
	finding := {"msg": msg, "location": user.location}
}

other_uid_creations(name) := {created |
	some created in input.final.users_created
	created.name == name
	is_number(created.uid)
	created.uid != lib.config_uid
}

created_with_config_uid(name) if {
	some created in input.final.users_created
	created.name == name
	created.uid == lib.config_uid
}

uidless_creations(name) := [created |
	some created in input.final.users_created
	created.name == name
	is_null(created.uid)
]

why_not_standard(name) := sprintf(
	"which is created on line %d without a numeric UID, so its UID is whatever the system assigns rather than %v",
	[created.location.line, lib.config_uid],
) if {
	created := uidless_creations(name)[0]
}

why_not_standard(name) := sprintf(
	"which is neither `%s` nor a user this Dockerfile creates with UID %v",
	[lib.config_user, lib.config_uid],
) if {
	count(uidless_creations(name)) == 0
}
