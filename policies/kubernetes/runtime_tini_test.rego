package dwf.kubernetes.runtime_tini_test

import data.dwf.image.fixtures_test as img
import data.dwf.kubernetes.fixtures_test as fx
import data.dwf.kubernetes.runtime_tini

locs(doc) := {f.location.line | some f in runtime_tini.deny with input as doc}

test_command_without_init_fires_at_command if {
	runtime_tini.deny == {{
		"msg": "The `command:` of the container `app` of Deployment `web` replaces the image's ENTRYPOINT and makes `/app/server` PID 1 instead of tini; put the init first: `command: [\"tini\", \"--\", \"/app/server\", ...]`.",
		"location": fx.loc(33, 11),
	}} with input as fx.one(fx.no_sc, {"command": fx.command(["/app/server"], 33)})
}

test_shell_running_tini_fires if {
	some f in runtime_tini.deny with input as fx.one(fx.no_sc, {"command": fx.command(["/bin/sh", "-c", "tini -- app"], 33)})
	contains(f.msg, "runs through `/bin/sh -c`")
}

test_resolved_image_without_entrypoint_fires_at_image if {
	c := {"image_config": fx.resolved([fx.platform("linux/amd64", img.user("1001", 1001, {}), null)])}
	locs(fx.one(fx.no_sc, c)) == {31}
}

test_tini_command_passes if {
	locs(fx.one(fx.no_sc, {"command": fx.command(["/usr/bin/tini", "--", "app"], 33)})) == set()
	locs(fx.one(fx.no_sc, {"command": fx.command(["tini-static-amd64", "--", "app"], 33)})) == set()
}

test_unresolved_without_command_passes if {
	locs(fx.one(fx.no_sc, {"args": {"value": ["serve"], "location": fx.loc(34, 11)}})) == set()
}

test_resolved_tini_entrypoint_passes if {
	c := {"image_config": fx.resolved([fx.platform("linux/amd64", img.user("1001", 1001, {}), img.command(["/usr/bin/tini", "--"]))])}
	locs(fx.one(fx.no_sc, c)) == set()
}

test_configured_init if {
	locs(fx.one(fx.no_sc, {"command": fx.command(["dumb-init", "app"], 33)})) == set() with data.dwf.config.init as ["dumb-init"]
}
