package dwf.dockerfile.tini_entrypoint_test

import data.dwf.dockerfile.tini_entrypoint
import data.dwf.lib.fixtures as fx

# --- firing -----------------------------------------------------------------

test_no_entrypoint_fires_at_final_from if {
	tini_entrypoint.deny == {{
		"msg": "The final stage has no ENTRYPOINT, so PID 1 is not tini and signals and zombie processes go unhandled; add `ENTRYPOINT [\"tini\", \"--\"]`.",
		"location": fx.location(1),
	}} with input as fx.doc({"cmd": fx.exec(["/app/server"], 8)})
}

test_shell_form_fires if {
	tini_entrypoint.deny == {{
		"msg": "The ENTRYPOINT is in shell form, so PID 1 is /bin/sh, which neither forwards signals nor reaps zombies; use the exec form `ENTRYPOINT [\"tini\", \"--\"]` followed by your command.",
		"location": fx.location(7),
	}} with input as fx.doc({"entrypoint": fx.shell("/app/server --port 80", "/app/server --port 80", 7)})
}

# Shell form stays shell form even when the script starts tini.
test_shell_form_running_tini_fires if {
	findings := tini_entrypoint.deny with input as fx.doc({"entrypoint": fx.shell("tini -- /app/server", "tini -- /app/server", 7)})
	count(findings) == 1
	some f in findings
	startswith(f.msg, "The ENTRYPOINT is in shell form")
}

# ["tini", "--",] is not JSON: BuildKit runs the text with /bin/sh -c. The
# raw text may or may not carry the keyword.
test_broken_json_fires_as_shell_form if {
	raw := `["tini", "--",]`
	tini_entrypoint.deny == {{
		"msg": "The ENTRYPOINT is not a valid JSON array (look for a trailing comma or single quotes), so Docker runs it in shell form with /bin/sh as PID 1; fix the JSON and start it with the init, e.g. `ENTRYPOINT [\"tini\", \"--\"]`.",
		"location": fx.location(7),
	}} with input as fx.doc({"entrypoint": fx.shell(raw, raw, 7)})
	some f in tini_entrypoint.deny with input as fx.doc({"entrypoint": fx.shell(raw, concat(" ", ["entrypoint", raw]), 7)})
	startswith(f.msg, "The ENTRYPOINT is not a valid JSON array")
}

test_dumb_init_fires if {
	tini_entrypoint.deny == {{
		"msg": "The ENTRYPOINT uses `/usr/bin/dumb-init` as init instead of the standard tini; replace it with `ENTRYPOINT [\"tini\", \"--\"]`.",
		"location": fx.location(7),
	}} with input as fx.doc({"entrypoint": fx.exec(["/usr/bin/dumb-init", "--"], 7)})
}

test_tini_inside_sh_c_fires if {
	tini_entrypoint.deny == {{
		"msg": "The init runs only inside `sh -c`, so PID 1 is the shell; make the init the program, e.g. `ENTRYPOINT [\"tini\", \"--\"]` followed by your command.",
		"location": fx.location(7),
	}} with input as fx.doc({"entrypoint": fx.exec(["sh", "-c", "tini -- /app/server"], 7)})
}

test_tini_path_inside_bash_c_fires if {
	findings := tini_entrypoint.deny with input as fx.doc({"entrypoint": fx.exec(["/bin/bash", "-c", "chown app /data; exec /sbin/tini -g -- app"], 7)})
	count(findings) == 1
	some f in findings
	startswith(f.msg, "The init runs only inside `/bin/bash -c`")
}

test_tini_only_in_cmd_fires_at_cmd if {
	tini_entrypoint.deny == {{
		"msg": "`/sbin/tini` is only in CMD, which `docker run <image> <command>` replaces, so PID 1 is not guaranteed to be an init; move it to `ENTRYPOINT [\"tini\", \"--\"]`.",
		"location": fx.location(8),
	}} with input as fx.doc({"cmd": fx.exec(["/sbin/tini", "--", "/app/server"], 8)})
}

test_unexpanded_variable_fires if {
	tini_entrypoint.deny == {{
		"msg": "The ENTRYPOINT program `${TINI}` is a variable, which exec form never expands, so the container would try to run that literal name; write the path, e.g. `ENTRYPOINT [\"tini\", \"--\"]`.",
		"location": fx.location(7),
	}} with input as fx.doc({"entrypoint": fx.exec(["${TINI}", "--"], 7)})
}

# ENTRYPOINT ["tini", "--"] then ENTRYPOINT []: the parser's effective
# entrypoint is the empty one.
test_empty_entrypoint_fires if {
	tini_entrypoint.deny == {{
		"msg": "`ENTRYPOINT []` clears the entrypoint, so PID 1 is not tini; set `ENTRYPOINT [\"tini\", \"--\"]` instead.",
		"location": fx.location(9),
	}} with input as fx.doc({"entrypoint": fx.exec([], 9), "cmd": fx.exec(["tini", "--", "app"], 10)})
}

test_plain_program_fires if {
	tini_entrypoint.deny == {{
		"msg": "The ENTRYPOINT makes `/app/server` PID 1 without an init, so signals and zombie processes go unhandled; put the init first, e.g. `ENTRYPOINT [\"tini\", \"--\", \"/app/server\", ...]`.",
		"location": fx.location(7),
	}} with input as fx.doc({"entrypoint": fx.exec(["/app/server", "--port", "80"], 7)})
}

# A shell without tini in its script is just another program.
test_shell_without_tini_fires_as_plain_program if {
	findings := tini_entrypoint.deny with input as fx.doc({"entrypoint": fx.exec(["sh", "-c", "martini --serve"], 7)})
	count(findings) == 1
	some f in findings
	startswith(f.msg, "The ENTRYPOINT makes `sh` PID 1 without an init")
}

# Only tini and tini-static* count: a renamed download does not.
test_lookalike_names_fire if {
	every program in ["tini-amd64", "/usr/bin/tinit", "/opt/tini/bin"] {
		count(tini_entrypoint.deny) == 1 with input as fx.doc({"entrypoint": fx.exec([program, "--"], 7)})
	}
}

test_tini_fires_when_another_init_is_configured if {
	findings := tini_entrypoint.deny with input as fx.doc({"entrypoint": fx.exec(["tini", "--"], 7)})
		with data.dwf.config.init as ["dumb-init"]
	findings == {{
		"msg": "The ENTRYPOINT uses `tini` as init instead of the standard dumb-init; replace it with `ENTRYPOINT [\"dumb-init\", \"--\"]`.",
		"location": fx.location(7),
	}}
}

# --- not firing ------------------------------------------------------------

test_tini_spellings_pass if {
	every words in [
		["tini", "--"],
		["/tini", "--", "/app/server"],
		["/sbin/tini", "--"],
		["/usr/bin/tini", "-g", "--", "/app/server"],
		["tini-static", "--"],
		["/usr/local/bin/tini-static-amd64", "-s", "--"],
		["tini"],
	] {
		count(tini_entrypoint.deny) == 0 with input as fx.doc({"entrypoint": fx.exec(words, 7)})
	}
}

test_tini_with_shell_cmd_passes if {
	count(tini_entrypoint.deny) == 0 with input as fx.doc({
		"entrypoint": fx.exec(["/usr/bin/tini", "--"], 7),
		"cmd": fx.shell("/app/server --port 80", "/app/server --port 80", 8),
	})
}

# FROM base AS final inherits base's ENTRYPOINT.
test_inherited_tini_passes if {
	base := fx.stage(0, fx.from_image("debian:12", "debian", "12", "", 1), [])
	final := fx.stage(1, fx.from_stage("base", 0, 4), [])
	count(tini_entrypoint.deny) == 0 with input as fx.document(
		[base, final],
		{"chain": [0, 1], "entrypoint": fx.inherited(fx.exec(["/sbin/tini", "--"], 2), 0)},
	)
}

test_configured_init_passes if {
	count(tini_entrypoint.deny) == 0 with input as fx.doc({"entrypoint": fx.exec(["/usr/bin/dumb-init", "--"], 7)})
		with data.dwf.config.init as ["dumb-init"]
}

test_configured_init_static_variant_passes if {
	count(tini_entrypoint.deny) == 0 with input as fx.doc({"entrypoint": fx.exec(["catatonit-static", "--"], 7)})
		with data.dwf.config.init as ["tini", "catatonit"]
}

# An ENTRYPOINT only in a builder stage does not matter, and neither does a
# missing one there.
test_builder_stage_entrypoint_ignored if {
	builder := object.union(
		fx.stage(0, fx.from_image("golang:1.23", "golang", "1.23", "", 1), []),
		{"entrypoint": fx.shell("go run .", "go run .", 3)},
	)
	final := object.union(
		fx.stage(1, fx.from_image("debian:12", "debian", "12", "", 5), []),
		{"entrypoint": fx.exec(["tini", "--"], 7)},
	)
	count(tini_entrypoint.deny) == 0 with input as fx.document([builder, final], {"entrypoint": fx.exec(["tini", "--"], 7)})
}

# The raw text may or may not include the keyword; either way a valid exec
# form is judged by its words.
test_exec_form_raw_is_not_reparsed if {
	count(tini_entrypoint.deny) == 0 with input as fx.doc({"entrypoint": object.union(
		fx.exec(["tini", "--"], 7),
		{"raw": `ENTRYPOINT ["tini", "--"]`},
	)})
}
