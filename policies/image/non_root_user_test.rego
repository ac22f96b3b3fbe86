package dwf.image.non_root_user_test

import data.dwf.image.fixtures_test as fx
import data.dwf.image.non_root_user

fires(doc) := {f.msg | some f in non_root_user.deny with input as doc}

# --- firing -----------------------------------------------------------------

test_no_user_fires_naming_platform_and_subject if {
	non_root_user.deny == {{
		"msg": "The linux/amd64 image runs as root because its config sets no user; add `USER 1001` to the final stage and rebuild.",
		"subject": "registry.example/team/app:1.0@sha256:1111111111111111111111111111111111111111111111111111111111111111 (linux/amd64)",
	}} with input as fx.amd64_user("", null, {})
}

test_root_name_fires if {
	fires(fx.amd64_user("root", null, {})) == {"The linux/amd64 image runs as root via user `root`; add `USER 1001` to the final stage and rebuild."}
}

test_root_with_group_fires if {
	count(fires(fx.amd64_user("root:root", null, {}))) == 1
}

test_numeric_spellings_of_0_fire if {
	every spelling in ["0", "000", "+0", "-0", "0:0", "000:dwfuser"] {
		fires(fx.amd64_user(spelling, 0, {})) == {sprintf("The linux/amd64 image runs as root via user `%s` (UID 0); add `USER 1001` to the final stage and rebuild.", [spelling])}
	}
}

test_empty_user_part_fires if {
	fires(fx.amd64_user(":1001", null, {"passwd_checked": false})) == {"The linux/amd64 image runs as root because its config user `:1001` has no user part; add `USER 1001` to the final stage and rebuild."}
}

test_name_with_uid_0_in_passwd_fires if {
	fires(fx.amd64_user("admin", null, {"resolved_uid": 0})) == {"The linux/amd64 image runs as root because the image's /etc/passwd gives user `admin` UID 0; add `USER 1001` to the final stage and rebuild."}
}

test_every_platform_is_checked if {
	doc := fx.index([
		fx.platform("linux/amd64", {"user": fx.user("", null, {})}),
		fx.platform("linux/arm64", {"user": fx.user("root", null, {})}),
	])
	subjects := {f.subject | some f in non_root_user.deny with input as doc}
	subjects == {
		sprintf("%s (linux/amd64)", [fx.subject]),
		sprintf("%s (linux/arm64)", [fx.subject]),
	}
}

test_only_the_differing_platform_fires if {
	doc := fx.index([
		fx.platform("linux/amd64", {}),
		fx.platform("linux/arm64/v8", {"user": fx.user("", null, {})}),
	])
	[f.subject | some f in non_root_user.deny with input as doc] == [sprintf("%s (linux/arm64/v8)", [fx.subject])]
}

test_configured_uid_appears_in_fix if {
	fires(fx.amd64_user("", null, {})) == {"The linux/amd64 image runs as root because its config sets no user; add `USER 2000` to the final stage and rebuild."} with data.dwf.config.uid as 2000
}

# --- not firing -------------------------------------------------------------

test_uid_1001_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("1001", 1001, {})
}

test_uid_1001_with_group_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("1001:1001", 1001, {"gid": 1001, "resolved_gid": 1001})
}

test_root_group_only_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("1001:0", 1001, {"gid": 0, "resolved_gid": 0})
}

test_other_uid_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("65534", 65534, {})
}

test_name_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("dwfuser", null, {"resolved_uid": 1001})
}

test_name_not_in_passwd_is_not_root if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("ghost", null, {"resolved_uid": null, "in_passwd": false})
}

test_unchecked_name_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("app", null, {"resolved_uid": null, "passwd_checked": false, "in_passwd": false})
}

test_name_containing_root_passes if {
	count(non_root_user.deny) == 0 with input as fx.amd64_user("rootless", null, {"resolved_uid": 1001})
}

test_single_platform_image_passes if {
	count(non_root_user.deny) == 0 with input as fx.single(fx.platform("linux/amd64", {}))
}

# A config that states no os/architecture is "the image", never "the /
# image".
test_image_without_platform_is_named_plainly if {
	p := fx.platform("linux/amd64", {"platform": "", "os": "", "architecture": "", "subject": fx.subject, "user": fx.user("root", 0, {})})
	fires(fx.single(p)) == {"The image runs as root via user `root`; add `USER 1001` to the final stage and rebuild."}
}
