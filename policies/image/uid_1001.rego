# METADATA
# title: The image must run as the standard UID
# description: >-
#   The image config's user must be the configured UID (1001 by default), on
#   every platform of an index: numerically, or a name that the image's
#   /etc/passwd maps to that UID. A name that is not in /etc/passwd (or a group
#   name not in /etc/group) means the container cannot start at all. Checked
#   only where DWF301 does not fire.
# schemas:
#   - input: schema.image
# custom:
#   id: DWF302
#   severity: error
#   kind: image
#   anchor: user
#   help: |
#     Create the user with the standard UID and switch to it by number, so the
#     image runs even where /etc/passwd is not read:
#
#     ```dockerfile
#     RUN useradd --uid 1001 --create-home dwfuser
#     USER 1001
#     ```
#
#     `USER dwfuser` passes too when `/etc/passwd` gives dwfuser UID 1001.
package dwf.image.uid_1001

import data.dwf.lib.image as lib

deny contains finding if {
	some p in input.platforms
	not lib.runs_as_root(p.user)
	msg := problem(p.platform, p.user)
	finding := {"msg": msg, "subject": p.subject}
}

# problem(platform, u) says what is wrong with the user object u and how to
# fix it; it is undefined when u complies.
problem(platform, u) := sprintf(
	"The %s runs as UID %v via user `%s` instead of the standard UID %v; use `USER %v`.",
	[lib.image_name(platform), u.uid, u.raw, lib.config_uid, lib.config_uid],
) if {
	is_number(u.uid)
	u.uid != lib.config_uid
} else := sprintf(
	"The user `%s` of the %s cannot be resolved to a UID (%s); use `USER %v`.",
	[u.name, lib.image_name(platform), u.lookup_error, lib.config_uid],
) if {
	is_null(u.uid)
	u.lookup_error != ""
} else := sprintf(
	"The container cannot start as user `%s`%s because the image has no /etc/passwd; use the numeric `USER %v`.",
	[u.name, lib.on_platform(platform), lib.config_uid],
) if {
	is_null(u.uid)
	u.passwd_checked
	not u.passwd_found
} else := sprintf(
	"The container cannot start as user `%s`%s because the image's /etc/passwd has no such user; create it with `useradd --uid %v %s` or use `USER %v`.",
	[u.name, lib.on_platform(platform), lib.config_uid, u.name, lib.config_uid],
) if {
	is_null(u.uid)
	u.passwd_checked
	not u.in_passwd
} else := sprintf(
	"The %s runs as UID %v via user `%s` (from its /etc/passwd) instead of the standard UID %v; create the user with `--uid %v` or use `USER %v`.",
	[lib.image_name(platform), u.resolved_uid, u.name, lib.config_uid, lib.config_uid, lib.config_uid],
) if {
	is_null(u.uid)
	u.in_passwd
	u.resolved_uid != lib.config_uid
} else := sprintf(
	"The %s runs as user `%s`, which is neither `%s` nor known to have UID %v; use `USER %v`.",
	[lib.image_name(platform), u.name, lib.config_user, lib.config_uid, lib.config_uid],
) if {
	is_null(u.uid)
	not u.passwd_checked
	u.name != lib.config_user
} else := sprintf(
	"The container cannot start as `%s`%s because %s; create the group or use `USER %v`.",
	[u.raw, lib.on_platform(platform), group_problem(u), lib.config_uid],
) if {
	u.passwd_checked
	u.lookup_error == ""
	u.group != ""
	is_null(u.gid)
	not u.in_group
}

group_problem(u) := "the image has no /etc/group" if not u.group_found

group_problem(u) := sprintf("the image's /etc/group has no group `%s`", [u.group]) if u.group_found
