package dwf.image.tini_entrypoint_test

import data.dwf.image.fixtures_test as fx
import data.dwf.image.tini_entrypoint

amd64(extra) := fx.index([fx.platform("linux/amd64", extra), fx.platform("linux/arm64", {})])

fires(doc) := {f.msg | some f in tini_entrypoint.deny with input as doc}

# --- firing -----------------------------------------------------------------

test_missing_entrypoint_fires if {
	tini_entrypoint.deny == {{
		"msg": "The linux/amd64 image has no ENTRYPOINT, so PID 1 is not tini and signals and zombie processes go unhandled; add `ENTRYPOINT [\"tini\", \"--\"]`.",
		"subject": sprintf("%s (linux/amd64)", [fx.subject]),
	}} with input as amd64({"entrypoint": null})
}

test_missing_entrypoint_and_cmd_fires if {
	count(fires(amd64({"entrypoint": null, "cmd": null}))) == 1
}

test_tini_only_in_cmd_fires if {
	fires(amd64({"entrypoint": null, "cmd": fx.command(["/sbin/tini", "--", "/app/server"])})) == {"`/sbin/tini` is only in the CMD of the linux/amd64 image, which `docker run <image> <command>` replaces, so PID 1 is not guaranteed to be an init; move it to `ENTRYPOINT [\"tini\", \"--\"]`."}
}

test_shell_form_fires if {
	fires(amd64({"entrypoint": fx.shell("/app/server")})) == {"The ENTRYPOINT of the linux/amd64 image runs through `/bin/sh -c`, so PID 1 is the shell, which neither forwards signals nor reaps zombies; use the exec form `ENTRYPOINT [\"tini\", \"--\"]` followed by your command."}
}

test_tini_inside_sh_c_fires if {
	count(fires(amd64({"entrypoint": fx.shell("exec tini -- /app/server")}))) == 1
}

test_dumb_init_fires if {
	fires(amd64({"entrypoint": fx.command(["/usr/bin/dumb-init", "--"])})) == {"The ENTRYPOINT of the linux/amd64 image makes `/usr/bin/dumb-init` PID 1 instead of tini; put the init first, e.g. `ENTRYPOINT [\"tini\", \"--\", \"/usr/bin/dumb-init\", ...]`."}
}

test_app_as_pid1_fires if {
	count(fires(amd64({"entrypoint": fx.command(["/app/server", "--port", "80"])}))) == 1
}

test_unexpanded_variable_fires if {
	count(fires(amd64({"entrypoint": fx.command(["${TINI}", "--"])}))) == 1
}

test_tini_lookalike_fires if {
	count(fires(amd64({"entrypoint": fx.command(["/usr/bin/tinix", "--"])}))) == 1
}

test_each_platform_named if {
	doc := fx.index([fx.platform("linux/amd64", {"entrypoint": null}), fx.platform("linux/arm64", {"entrypoint": null})])
	count(tini_entrypoint.deny) == 2 with input as doc
}

# --- not firing -------------------------------------------------------------

test_usr_bin_tini_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({})
}

test_sbin_tini_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"entrypoint": fx.command(["/sbin/tini", "--"])})
}

test_root_tini_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"entrypoint": fx.command(["/tini", "-g", "--"])})
}

test_bare_tini_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"entrypoint": fx.command(["tini"])})
}

test_tini_static_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"entrypoint": fx.command(["/tini-static", "--"])})
}

test_tini_static_arch_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"entrypoint": fx.command(["/usr/local/bin/tini-static-amd64", "--", "/app"])})
}

test_tini_with_cmd_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"cmd": null})
}

test_configured_init_passes if {
	count(tini_entrypoint.deny) == 0 with input as amd64({"entrypoint": fx.command(["/usr/bin/dumb-init", "--"])})
		with data.dwf.config.init as ["tini", "dumb-init"]
}

test_configured_init_replaces_tini if {
	fires(amd64({"entrypoint": fx.command(["/usr/bin/dumb-init", "--"])})) == {"The ENTRYPOINT of the linux/arm64 image makes `/usr/bin/tini` PID 1 instead of dumb-init; put the init first, e.g. `ENTRYPOINT [\"dumb-init\", \"--\", \"/usr/bin/tini\", ...]`."} with data.dwf.config.init as ["dumb-init"]
}

test_image_without_platform_is_named_plainly if {
	p := fx.platform("linux/amd64", {"platform": "", "os": "", "architecture": "", "subject": fx.subject, "entrypoint": null})
	some f in tini_entrypoint.deny with input as fx.single(p)
	startswith(f.msg, "The image has no ENTRYPOINT")
}
