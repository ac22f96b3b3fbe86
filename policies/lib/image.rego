# METADATA
# title: Image helpers
# description: |
#   Facts the image rules (DWF301–DWF305) share: the configured standard and
#   what counts as root. DWF302 only looks at users DWF301 accepts, so both
#   rules read the same definition.
package dwf.lib.image

# The configured UID as a number (a config file may spell it "1001").
config_uid := to_number(data.dwf.config.uid)

# The configured user name.
config_user := data.dwf.config.user

# The configured init binaries (basenames such as "tini").
config_init := data.dwf.config.init

# init_example is the init to suggest in messages: the first configured one.
init_example := config_init[0] if count(config_init) > 0

init_example := "tini" if count(config_init) == 0

# root_reason(u) completes "The <platform> image runs as root ..." for the
# user object u of an image platform; it is undefined when u is not root.
# Root is: no user, an empty user part, the name root, UID 0 in any spelling
# (0, 000, +0, -0, with or without a group), or a name that the image's
# /etc/passwd maps to UID 0.
root_reason(u) := "because its config sets no user" if {
	not u.set
} else := sprintf("because its config user `%s` has no user part", [u.raw]) if {
	u.name == ""
} else := sprintf("via user `%s`", [u.raw]) if {
	u.name == "root"
} else := sprintf("via user `%s` (UID 0)", [u.raw]) if {
	u.uid == 0
} else := sprintf("because the image's /etc/passwd gives user `%s` UID 0", [u.name]) if {
	u.resolved_uid == 0
}

# runs_as_root(u) holds when root_reason(u) is defined.
runs_as_root(u) if {
	_ := root_reason(u)
}

# is_init(program) holds when program (a basename) is a configured init
# binary or its static build (tini-static, tini-static-amd64).
is_init(program) if {
	some i in config_init
	program == i
}

is_init(program) if {
	some i in config_init
	startswith(program, sprintf("%s-static", [i]))
}

# image_name(platform) names a platform's image in messages: "linux/amd64
# image", or just "image" when its config states no os/architecture.
image_name(platform) := sprintf("%s image", [platform]) if platform != ""

image_name(platform) := "image" if platform == ""

# on_platform(platform) is " on linux/amd64", or "" when no platform is
# stated.
on_platform(platform) := sprintf(" on %s", [platform]) if platform != ""

on_platform(platform) := "" if platform == ""
