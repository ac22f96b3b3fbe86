package dwf.image.uid_1001_test

import data.dwf.image.fixtures_test as fx
import data.dwf.image.uid_1001

fires(doc) := {f.msg | some f in uid_1001.deny with input as doc}

# --- firing -----------------------------------------------------------------

test_other_uid_fires if {
	uid_1001.deny == {{
		"msg": "The linux/amd64 image runs as UID 1000 via user `1000` instead of the standard UID 1001; use `USER 1001`.",
		"subject": sprintf("%s (linux/amd64)", [fx.subject]),
	}} with input as fx.amd64_user("1000", 1000, {})
}

test_nobody_uid_fires if {
	count(fires(fx.amd64_user("65534:65534", 65534, {"gid": 65534}))) == 1
}

test_name_not_in_passwd_cannot_start if {
	fires(fx.amd64_user("app", null, {"resolved_uid": null, "in_passwd": false})) == {"The container cannot start as user `app` on linux/amd64 because the image's /etc/passwd has no such user; create it with `useradd --uid 1001 app` or use `USER 1001`."}
}

test_configured_name_not_in_passwd_cannot_start if {
	msgs := fires(fx.amd64_user("dwfuser", null, {"resolved_uid": null, "in_passwd": false}))
	count(msgs) == 1
	some msg in msgs
	contains(msg, "cannot start as user `dwfuser`")
}

test_no_passwd_file_cannot_start if {
	fires(fx.amd64_user("dwfuser", null, {"resolved_uid": null, "in_passwd": false, "passwd_found": false})) == {"The container cannot start as user `dwfuser` on linux/amd64 because the image has no /etc/passwd; use the numeric `USER 1001`."}
}

test_name_with_other_uid_in_passwd_fires if {
	fires(fx.amd64_user("node", null, {"resolved_uid": 1000})) == {"The linux/amd64 image runs as UID 1000 via user `node` (from its /etc/passwd) instead of the standard UID 1001; create the user with `--uid 1001` or use `USER 1001`."}
}

test_configured_name_with_other_uid_fires if {
	count(fires(fx.amd64_user("dwfuser", null, {"resolved_uid": 1000}))) == 1
}

test_huge_passwd_fires if {
	fires(fx.amd64_user("dwfuser", null, {"resolved_uid": null, "in_passwd": false, "lookup_error": "/etc/passwd is larger than 1048576 bytes"})) == {"The user `dwfuser` of the linux/amd64 image cannot be resolved to a UID (/etc/passwd is larger than 1048576 bytes); use `USER 1001`."}
}

test_unchecked_other_name_fires if {
	fires(fx.amd64_user("app", null, {"resolved_uid": null, "passwd_checked": false, "passwd_found": false, "in_passwd": false})) == {"The linux/amd64 image runs as user `app`, which is neither `dwfuser` nor known to have UID 1001; use `USER 1001`."}
}

test_missing_group_cannot_start if {
	fires(fx.amd64_user("dwfuser:staff", null, {"resolved_uid": 1001, "group_found": true})) == {"The container cannot start as `dwfuser:staff` on linux/amd64 because the image's /etc/group has no group `staff`; create the group or use `USER 1001`."}
}

test_missing_group_file_cannot_start if {
	msgs := fires(fx.amd64_user("1001:app", 1001, {}))
	msgs == {"The container cannot start as `1001:app` on linux/amd64 because the image has no /etc/group; create the group or use `USER 1001`."}
}

test_each_platform_named if {
	doc := fx.index([
		fx.platform("linux/amd64", {"user": fx.user("1000", 1000, {})}),
		fx.platform("linux/arm64", {"user": fx.user("1000", 1000, {})}),
	])
	{f.subject | some f in uid_1001.deny with input as doc} == {
		sprintf("%s (linux/amd64)", [fx.subject]),
		sprintf("%s (linux/arm64)", [fx.subject]),
	}
}

# --- not firing -------------------------------------------------------------

test_uid_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("1001", 1001, {})
}

test_uid_1001_with_group_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("1001:1001", 1001, {"gid": 1001, "resolved_gid": 1001})
}

test_uid_1001_spelled_with_zeros_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("0001001", 1001, {})
}

test_numeric_uid_not_in_passwd_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("1001", 1001, {"in_passwd": false})
}

test_numeric_uid_without_passwd_file_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("1001", 1001, {"in_passwd": false, "passwd_found": false})
}

test_configured_name_resolving_to_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("dwfuser", null, {"resolved_uid": 1001})
}

test_other_name_resolving_to_1001_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("app", null, {"resolved_uid": 1001})
}

test_group_in_group_file_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("dwfuser:staff", null, {"resolved_uid": 1001, "group_found": true, "in_group": true, "resolved_gid": 50})
}

test_unchecked_configured_name_passes if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("dwfuser", null, {"resolved_uid": null, "passwd_checked": false, "in_passwd": false})
}

test_root_is_left_to_dwf301 if {
	count(uid_1001.deny) == 0 with input as fx.amd64_user("root", null, {})
	count(uid_1001.deny) == 0 with input as fx.amd64_user("", null, {})
	count(uid_1001.deny) == 0 with input as fx.amd64_user("0", 0, {})
	count(uid_1001.deny) == 0 with input as fx.amd64_user("admin", null, {"resolved_uid": 0})
}

test_configured_uid_is_read if {
	doc := fx.single(fx.platform("linux/amd64", {"user": fx.user("2000", 2000, {})}))
	count(uid_1001.deny) == 0 with input as doc with data.dwf.config.uid as 2000
	count(uid_1001.deny) == 0 with input as doc with data.dwf.config.uid as "2000"
	count(uid_1001.deny) == 1 with input as doc
}

test_image_without_platform_leaves_the_platform_out if {
	p := fx.platform("linux/amd64", {"platform": "", "os": "", "architecture": "", "subject": fx.subject, "user": fx.user("1001:app", 1001, {})})
	msgs := fires(fx.single(p))
	msgs == {"The container cannot start as `1001:app` because the image has no /etc/group; create the group or use `USER 1001`."}
	p2 := object.union(p, {"user": fx.user("1000", 1000, {})})
	fires(fx.single(p2)) == {"The image runs as UID 1000 via user `1000` instead of the standard UID 1001; use `USER 1001`."}
}
