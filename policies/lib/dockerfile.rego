# METADATA
# title: Dockerfile helpers
# description: |
#   Facts several Dockerfile rules share: the configured standard (UID, user
#   name, init binaries), what counts as root, and whether the final stage's
#   user is acceptable for DWF101. DWF102 only looks at users DWF101 accepts,
#   so both rules read the same definition.
# schemas:
#   - input: schema.dockerfile
package dwf.lib.dockerfile

# The configured UID as a number (a config file may spell it "1001").
config_uid := to_number(data.dwf.config.uid)

# The configured user name.
config_user := data.dwf.config.user

# The configured init binaries (basenames such as "tini").
config_init := data.dwf.config.init

# basename(path) is the last segment of a slash-separated path.
basename(path) := name if {
	parts := split(path, "/")
	name := parts[count(parts) - 1]
}

# root_user(user) holds when the user part is root by name or UID 0 in any
# numeric spelling (the parser gives uid 0 for 0, 000, +0, -0).
root_user(user) if user.uid == 0

root_user(user) if user.name == "root"

# created_as_root(user) is the first creation in the final chain (useradd or
# adduser with -u 0) that makes the named user UID 0, if any.
created_as_root(user) := creations[0] if {
	is_null(user.uid)
	creations := [created |
		some created in input.final.users_created
		created.name == user.name
		created.uid == 0
	]
}

# final_user_ok holds when DWF101 accepts the final stage's effective user:
# there is one, it is resolved and it is not root.
final_user_ok if {
	user := input.final.user
	is_object(user)
	user.resolved
	not root_user(user)
	not created_as_root(user)
}

# init_program(word) holds when word (a path or a name) is one of the
# configured init binaries: its basename equals a configured name N or starts
# with N-static (tini-static, tini-static-amd64).
init_program(word) if {
	name := basename(word)
	some init in config_init
	name == init
}

init_program(word) if {
	name := basename(word)
	some init in config_init
	startswith(name, sprintf("%s-static", [init]))
}

# user_display(user) is the USER argument as written, with its expansion
# when that differs, for messages; a user from the base image's config
# (check --resolve-base-images) is named with that image.
user_display(user) := sprintf("`USER %s`", [user.raw]) if {
	not from_base_image(user)
	user.raw == user.value
}

user_display(user) := sprintf("`USER %s` (expands to `%s`)", [user.raw, user.value]) if {
	not from_base_image(user)
	user.raw != user.value
}

user_display(user) := sprintf("the user `%s` set by the base image `%s`", [user.value, user.from_image]) if from_base_image(user)

# user_source(user) says where the effective user comes from, after "runs
# as X": "via `USER x`", or "set by the base image `ref@digest`" when no
# USER instruction sets it and the base image's config does.
user_source(user) := sprintf("via %s", [user_display(user)]) if not from_base_image(user)

user_source(user) := sprintf("set by the base image `%s`", [user.from_image]) if from_base_image(user)

from_base_image(user) if object.get(user, "from_image", "") != ""

# init_example is the init to suggest in messages: the first configured one.
init_example := config_init[0]

init_example := "an init such as tini" if count(config_init) == 0
