package dwf.kubernetes.runtime_non_root_test

import data.dwf.image.fixtures_test as img
import data.dwf.kubernetes.fixtures_test as fx
import data.dwf.kubernetes.runtime_non_root

locs(doc) := {f.location.line | some f in runtime_non_root.deny with input as doc}

test_pod_run_as_user_0_fires_at_the_field if {
	runtime_non_root.deny == {{
		"msg": "The container `app` of Deployment `web` runs as root: runAsUser is 0 (the pod securityContext, line 21); set `runAsNonRoot: true` and `runAsUser: 1001`.",
		"location": fx.loc(21, 9),
	}} with input as fx.one(fx.sc(0, null, 20), {})
}

test_run_as_user_0_with_non_root_says_the_kubelet_refuses if {
	some f in runtime_non_root.deny with input as fx.one(fx.sc(0, true, 20), {})
	contains(f.msg, "the kubelet refuses to start it")
}

test_container_overrides_pod if {
	locs(fx.one(fx.sc(1001, null, 20), {"security_context": fx.sc(0, null, 40)})) == {41}
	locs(fx.one(fx.sc(0, null, 20), {"security_context": fx.sc(1001, null, 40)})) == set()
}

test_nothing_set_unresolved_fires_at_image if {
	locs(fx.one(fx.no_sc, {})) == {31}
}

test_non_root_false_fires_at_the_field if {
	locs(fx.one(fx.sc(null, false, 20), {})) == {22}
}

test_resolved_root_image_fires_per_platform if {
	c := {"image_config": fx.resolved([
		fx.platform("linux/amd64", img.user("", null, {}), null),
		fx.platform("linux/arm64", img.user("1001", 1001, {}), null),
	])}
	msgs := {f.msg | some f in runtime_non_root.deny with input as fx.one(fx.no_sc, c)}
	count(msgs) == 1
	some m in msgs
	contains(m, "(linux/amd64) runs as root because its config sets no user")
}

test_non_zero_user_passes if {
	locs(fx.one(fx.sc(1002, null, 20), {})) == set()
}

test_non_root_true_passes if {
	locs(fx.one(fx.sc(null, true, 20), {})) == set()
}

test_resolved_non_root_image_passes if {
	c := {"image_config": fx.resolved([fx.platform("linux/amd64", img.user("1001", 1001, {}), null)])}
	locs(fx.one(fx.no_sc, c)) == set()
}
