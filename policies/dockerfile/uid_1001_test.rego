package dwf.dockerfile.uid_1001_test

import data.dwf.dockerfile.uid_1001
import data.dwf.lib.fixtures as fx

# --- firing -----------------------------------------------------------------

test_uid_1000_fires if {
	uid_1001.deny == {{
		"msg": "The final stage runs as UID 1000 via `USER 1000` instead of the standard UID 1001; use `USER 1001`.",
		"location": fx.location(4),
	}} with input as fx.doc({"user": fx.user("1000", 1000, 4)})
}

test_uid_65534_with_group_fires if {
	findings := uid_1001.deny with input as fx.doc({"user": fx.user("65534:65534", 65534, 4)})
	count(findings) == 1
	some f in findings
	startswith(f.msg, "The final stage runs as UID 65534 via `USER 65534:65534`")
}

# The group never makes a wrong UID right.
test_wrong_uid_with_standard_group_fires if {
	findings := uid_1001.deny with input as fx.doc({"user": fx.user("1000:1001", 1000, 4)})
	[f.location | some f in findings] == [fx.location(4)]
}

# Leading zeros are the parser's business: 01000 arrives as 1000.
test_padded_uid_fires if {
	count(uid_1001.deny) == 1 with input as fx.doc({"user": fx.user("01000", 1000, 4)})
}

test_name_not_created_fires if {
	uid_1001.deny == {{
		"msg": "The final stage runs as `nobody` via `USER nobody`, which is neither `dwfuser` nor a user this Dockerfile creates with UID 1001; use `USER 1001`, or create `nobody` with `-u 1001`.",
		"location": fx.location(4),
	}} with input as fx.doc({"user": fx.user("nobody", null, 4)})
}

test_base_image_user_node_fires if {
	findings := uid_1001.deny with input as fx.doc({"user": fx.user("node:node", null, 7)})
	count(findings) == 1
	some f in findings
	f.location == fx.location(7)
	contains(f.msg, "runs as `node`")
}

test_dwfuser_created_with_uid_1000_fires_at_run if {
	uid_1001.deny == {{
		"msg": "useradd creates `dwfuser` with UID 1000, so the final stage (`USER dwfuser`) runs as UID 1000 instead of the standard UID 1001; create the user with `-u 1001`.",
		"location": fx.location(3),
	}} with input as fx.doc({
		"user": fx.user("dwfuser", null, 5),
		"users_created": [fx.created("useradd", "dwfuser", 1000, 3)],
	})
}

test_app_created_with_uid_1000_fires_at_run if {
	findings := uid_1001.deny with input as fx.doc({
		"user": fx.user("app", null, 5),
		"users_created": [fx.created("adduser", "app", 1000, 3)],
	})
	[f.location | some f in findings] == [fx.location(3)]
	some f in findings
	startswith(f.msg, "adduser creates `app` with UID 1000")
}

test_name_created_without_uid_fires if {
	uid_1001.deny == {{
		"msg": "The final stage runs as `app` via `USER app`, which is created on line 3 without a numeric UID, so its UID is whatever the system assigns rather than 1001; use `USER 1001`, or create `app` with `-u 1001`.",
		"location": fx.location(5),
	}} with input as fx.doc({
		"user": fx.user("app", null, 5),
		"users_created": [fx.created("useradd", "app", null, 3)],
	})
}

test_configured_uid_is_used if {
	findings := uid_1001.deny with input as fx.doc({"user": fx.user("1001", 1001, 4)})
		with data.dwf.config.uid as 2000
	some f in findings
	f.msg == "The final stage runs as UID 1001 via `USER 1001` instead of the standard UID 2000; use `USER 2000`."
}

test_configured_name_is_used if {
	count(uid_1001.deny) == 1 with input as fx.doc({"user": fx.user("dwfuser", null, 4)})
		with data.dwf.config.user as "svc"
}

# --- not firing ------------------------------------------------------------

test_uid_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("1001", 1001, 4)})
}

test_uid_1001_with_root_group_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("1001:0", 1001, 4)})
}

test_padded_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("001001", 1001, 4)})
}

test_dwfuser_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("dwfuser", null, 4)})
}

test_dwfuser_with_group_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("dwfuser:dwfuser", null, 4)})
}

test_dwfuser_created_with_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({
		"user": fx.user("dwfuser", null, 5),
		"users_created": [fx.created("useradd", "dwfuser", 1001, 3)],
	})
}

# useradd -u 1001 app, then USER app.
test_name_created_with_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({
		"user": fx.user("app", null, 5),
		"users_created": [fx.created("useradd", "app", 1001, 3), fx.created("useradd", "other", 1000, 4)],
	})
}

test_default_expansion_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.expanded_user("${UID:-1001}", "1001", 1001, 4)})
}

# DWF101 reports these; DWF102 stays quiet.
test_silent_when_dwf101_fires if {
	every final in [
		{},
		{"user": fx.user("root", null, 4)},
		{"user": fx.user("0:0", 0, 4)},
		{"user": fx.unresolved_user("${UID}", "variable UID is not set", 4)},
		{"user": fx.user("admin", null, 4), "users_created": [fx.created("useradd", "admin", 0, 3)]},
	] {
		count(uid_1001.deny) == 0 with input as fx.doc(final)
	}
}

# A config file may spell the UID as a string.
test_configured_uid_as_string if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("2000", 2000, 4)})
		with data.dwf.config.uid as "2000"
}

test_configured_name_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({"user": fx.user("svc", null, 4)})
		with data.dwf.config.user as "svc"
}

# Users created with other UIDs in the chain do not matter unless used.
test_unused_creation_ignored if {
	count(uid_1001.deny) == 0 with input as fx.doc({
		"user": fx.user("1001", 1001, 6),
		"users_created": [fx.created("useradd", "dwfuser", 1000, 3)],
	})
}

# The configured name is the standard; without -u its UID is not known to be
# wrong, so only a creation with another numeric UID fires.
test_dwfuser_created_without_uid_passes if {
	count(uid_1001.deny) == 0 with input as fx.doc({
		"user": fx.user("dwfuser", null, 5),
		"users_created": [fx.created("useradd", "dwfuser", null, 3)],
	})
}

# With --resolve-base-images, a user from the base image's config is named
# with that image instead of a `USER` line the Dockerfile does not have, at
# the FROM line.
test_user_from_base_image_names_the_image if {
	u := object.union(fx.user("appuser", null, 1), {"inherited": true, "from_image": "acme/base:1@sha256:0123"})
	findings := uid_1001.deny with input as fx.doc({"user": u})
	count(findings) == 1
	some f in findings
	f.location == fx.location(1)
	startswith(f.msg, "The final stage runs as `appuser` set by the base image `acme/base:1@sha256:0123`, which is neither")
	not contains(f.msg, "USER appuser")
}
