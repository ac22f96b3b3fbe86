package dwf.dockerfile.non_root_user_test

import data.dwf.dockerfile.non_root_user
import data.dwf.lib.fixtures as fx

# --- firing -----------------------------------------------------------------

# On a base image, the user is the image's: the message says so and how to
# settle it, rather than "runs as root" flatly.
test_no_user_fires_at_final_from if {
	non_root_user.deny == {{
		"msg": "No USER is set in the final stage's FROM chain, so it runs as the user of the base image `debian:12`, which is root unless that image sets another; add `USER 1001` after the steps that need root, or run `dwf-policy check --resolve-base-images` to check the base image's user.",
		"location": fx.location(1),
	}} with input as fx.doc({})
}

test_no_user_on_distroless_nonroot_names_the_base_image if {
	final := fx.stage(0, fx.from_image("gcr.io/distroless/static:nonroot", "gcr.io/distroless/static", "nonroot", "", 1), [])
	findings := non_root_user.deny with input as fx.document([final], {})
	count(findings) == 1
	some f in findings
	contains(f.msg, "the user of the base image `gcr.io/distroless/static:nonroot`")
	contains(f.msg, "--resolve-base-images")
}

# FROM scratch has no user of its own: the container runs as root.
test_no_user_from_scratch_runs_as_root if {
	scratch := object.union(fx.from_image("scratch", "", "", "", 1), {"scratch": true})
	non_root_user.deny == {{
		"msg": "The final stage runs as root because no USER is set in its FROM chain (a USER in a builder stage does not count); add `USER 1001` after the steps that need root.",
		"location": fx.location(1),
	}} with input as fx.document([fx.stage(0, scratch, [])], {})
}

# With --resolve-base-images, a root user from the base image's config is
# named with that image, at the FROM line.
test_root_from_base_image_names_the_image if {
	u := object.union(fx.user("root", null, 1), {"inherited": true, "from_image": "debian:12@sha256:0123"})
	non_root_user.deny == {{
		"msg": "The final stage runs as root set by the base image `debian:12@sha256:0123`; switch to a non-root user with `USER 1001`.",
		"location": fx.location(1),
	}} with input as fx.doc({"user": u})
}

test_user_only_in_builder_stage_fires if {
	builder := object.union(
		fx.stage(0, fx.from_image("golang:1.23", "golang", "1.23", "", 1), []),
		{"name": "build", "user": fx.user("1001", 1001, 3)},
	)
	final := fx.stage(1, fx.from_image("debian:12", "debian", "12", "", 5), [])
	findings := non_root_user.deny with input as fx.document([builder, final], {})
	count(findings) == 1
	some f in findings
	f.location == fx.location(5)
	contains(f.msg, "No USER is set")
}

test_user_root_fires if {
	non_root_user.deny == {{
		"msg": "The final stage runs as root via `USER root`; switch to a non-root user with `USER 1001`.",
		"location": fx.location(4),
	}} with input as fx.doc({"user": fx.user("root", null, 4)})
}

test_user_root_with_group_fires if {
	findings := non_root_user.deny with input as fx.doc({"user": fx.user("root:root", null, 4)})
	[f.location | some f in findings] == [fx.location(4)]
}

test_user_0_0_fires if {
	non_root_user.deny == {{
		"msg": "The final stage runs as root via `USER 0:0`; switch to a non-root user with `USER 1001`.",
		"location": fx.location(4),
	}} with input as fx.doc({"user": fx.user("0:0", 0, 4)})
}

# The parser turns every numeric spelling of 0 into uid 0.
test_numeric_spellings_of_0_fire if {
	every spelling in ["0", "000", "+0", "-0", "000:dwfuser"] {
		findings := non_root_user.deny with input as fx.doc({"user": fx.user(spelling, 0, 4)})
		count(findings) == 1
		some f in findings
		f.msg == sprintf("The final stage runs as root via `USER %s`; switch to a non-root user with `USER 1001`.", [spelling])
	}
}

test_variable_expanding_to_0_fires if {
	non_root_user.deny == {{
		"msg": "The final stage runs as root via `USER ${APP_UID}` (expands to `0`); switch to a non-root user with `USER 1001`.",
		"location": fx.location(4),
	}} with input as fx.doc({"user": fx.expanded_user("${APP_UID}", "0", 0, 4)})
}

test_unresolved_variable_fires if {
	non_root_user.deny == {{
		"msg": "`USER ${UID}` cannot be resolved (variable UID is not set), so the container may run as root; give the variable a default in the stage (`ARG UID=1001`) or write `USER 1001`.",
		"location": fx.location(6),
	}} with input as fx.doc({"user": fx.unresolved_user("${UID}", "variable UID is not set", 6)})
}

# A global ARG that the stage does not re-declare leaves USER ${UID} empty.
test_global_arg_not_redeclared_fires if {
	findings := non_root_user.deny with input as fx.doc({"user": fx.unresolved_user(
		"${UID}",
		"UID is a global ARG not re-declared in this stage",
		6,
	)})
	count(findings) == 1
	some f in findings
	contains(f.msg, "cannot be resolved (UID is a global ARG not re-declared in this stage)")
}

test_empty_user_colon_fires if {
	non_root_user.deny == {{
		"msg": "`USER :` cannot be resolved (the value is empty), so the container may run as root; give the variable a default in the stage (`ARG UID=1001`) or write `USER 1001`.",
		"location": fx.location(3),
	}} with input as fx.doc({"user": fx.unresolved_user(":", "", 3)})
}

# USER 1001 then USER root: the parser's effective user is the last one.
test_later_user_root_wins if {
	findings := non_root_user.deny with input as fx.doc({"user": fx.user("root", null, 9)})
	[f.location.line | some f in findings] == [9]
}

# FROM base AS final, where base ends as root: located at base's USER.
test_root_inherited_from_earlier_stage_fires if {
	base := object.union(
		fx.stage(0, fx.from_image("debian:12", "debian", "12", "", 1), []),
		{"user": fx.user("root", null, 2)},
	)
	final := fx.stage(1, fx.from_stage("base", 0, 4), [])
	findings := non_root_user.deny with input as fx.document(
		[base, final],
		{"chain": [0, 1], "user": fx.inherited(fx.user("root", null, 2), 0)},
	)
	[f.location | some f in findings] == [fx.location(2)]
}

test_name_created_with_uid_0_fires if {
	non_root_user.deny == {{
		"msg": "The final stage runs as root via `USER admin` because useradd creates `admin` with UID 0 on line 3; create the user with `-u 1001` instead.",
		"location": fx.location(5),
	}} with input as fx.doc({
		"user": fx.user("admin", null, 5),
		"users_created": [fx.created("useradd", "admin", 0, 3)],
	})
}

test_message_uses_configured_uid if {
	findings := non_root_user.deny with input as fx.doc({}) with data.dwf.config.uid as 2000
	some f in findings
	contains(f.msg, "add `USER 2000`")
}

# --- not firing ------------------------------------------------------------

test_user_1001_passes if {
	count(non_root_user.deny) == 0 with input as fx.doc({"user": fx.user("1001", 1001, 4)})
}

test_user_dwfuser_passes if {
	count(non_root_user.deny) == 0 with input as fx.doc({"user": fx.user("dwfuser:dwfuser", null, 4)})
}

test_group_root_is_not_root_user if {
	count(non_root_user.deny) == 0 with input as fx.doc({"user": fx.user("1001:0", 1001, 4)})
}

test_other_non_root_users_pass if {
	every u in [fx.user("nobody", null, 4), fx.user("1000", 1000, 4), fx.user("65534:65534", 65534, 4), fx.user("010", 10, 4)] {
		count(non_root_user.deny) == 0 with input as fx.doc({"user": u})
	}
}

test_name_starting_with_root_passes if {
	count(non_root_user.deny) == 0 with input as fx.doc({"user": fx.user("rootless", null, 4)})
}

test_default_expansion_passes if {
	count(non_root_user.deny) == 0 with input as fx.doc({"user": fx.expanded_user("${UID:-1001}", "1001", 1001, 4)})
}

# FROM builder AS final inherits the builder's USER.
test_user_inherited_through_from_stage_passes if {
	builder := object.union(
		fx.stage(0, fx.from_image("debian:12", "debian", "12", "", 1), []),
		{"user": fx.user("1001", 1001, 3)},
	)
	final := fx.stage(1, fx.from_stage("builder", 0, 5), [])
	count(non_root_user.deny) == 0 with input as fx.document(
		[builder, final],
		{"chain": [0, 1], "user": fx.inherited(fx.user("1001", 1001, 3), 0)},
	)
}

# A builder stage running as root does not matter.
test_root_in_builder_stage_ignored if {
	builder := object.union(
		fx.stage(0, fx.from_image("golang:1.23", "golang", "1.23", "", 1), []),
		{"user": fx.user("root", null, 2)},
	)
	final := object.union(
		fx.stage(1, fx.from_image("debian:12", "debian", "12", "", 4), []),
		{"user": fx.user("1001", 1001, 6)},
	)
	count(non_root_user.deny) == 0 with input as fx.document([builder, final], {"user": fx.user("1001", 1001, 6)})
}

# A user created with UID 0 only matters when the final stage runs as it.
test_uid_0_creation_of_another_user_ignored if {
	count(non_root_user.deny) == 0 with input as fx.doc({
		"user": fx.user("app", null, 5),
		"users_created": [fx.created("useradd", "admin", 0, 3), fx.created("useradd", "app", 1001, 4)],
	})
}
