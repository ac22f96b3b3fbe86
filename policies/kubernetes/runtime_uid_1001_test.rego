package dwf.kubernetes.runtime_uid_1001_test

import data.dwf.image.fixtures_test as img
import data.dwf.kubernetes.fixtures_test as fx
import data.dwf.kubernetes.runtime_uid_1001

locs(doc) := {f.location.line | some f in runtime_uid_1001.deny with input as doc}

test_other_uid_fires_at_the_field if {
	runtime_uid_1001.deny == {{
		"msg": "The container `app` of Deployment `web` runs as UID 1000 (runAsUser in the container securityContext, line 41) instead of the standard UID 1001; set `runAsUser: 1001`.",
		"location": fx.loc(41, 9),
	}} with input as fx.one(fx.no_sc, {"security_context": fx.sc(1000, null, 40)})
}

test_unknown_uid_fires_at_image if {
	locs(fx.one(fx.sc(null, true, 20), {})) == {31}
}

test_resolved_image_uid_fires if {
	c := {"image_config": fx.resolved([fx.platform("linux/amd64", img.user("app", null, {"resolved_uid": 1000}), null)])}
	locs(fx.one(fx.sc(null, true, 20), c)) == {31}
}

test_root_is_left_to_dwf601 if {
	locs(fx.one(fx.sc(0, null, 20), {})) == set()
	locs(fx.one(fx.no_sc, {})) == set()
}

test_uid_1001_passes if {
	locs(fx.one(fx.sc(1001, null, 20), {})) == set()
}

test_resolved_image_1001_passes if {
	c := {"image_config": fx.resolved([fx.platform("linux/amd64", img.user("dwfuser", null, {"resolved_uid": 1001}), null)])}
	locs(fx.one(fx.sc(null, true, 20), c)) == set()
}

test_configured_uid if {
	locs(fx.one(fx.sc(2000, null, 20), {})) == set() with data.dwf.config.uid as 2000
}
