# Builders for Dockerfile documents shaped like
# engine/document/schemas/dockerfile.json, for the rule tests. Each builder
# fills every required field, so a test states only what matters to it; the
# Go test checks `samples` against the schema so the builders cannot drift.
package dwf.lib.fixtures

location(line) := {"line": line, "column": 1, "end_line": line, "end_column": 40}

# user(value, uid, line) is a resolved USER written as value; uid is what the
# parser derives (a number for numeric user parts, else null).
user(value, uid, line) := {
	"raw": value,
	"value": value,
	"resolved": true,
	"reason": "",
	"name": parts[0],
	"group": concat(":", array.slice(parts, 1, count(parts))),
	"uid": uid,
	"inherited": false,
	"from_image": "",
	"stage": 0,
	"location": location(line),
} if {
	parts := split(value, ":")
}

# expanded_user(raw, value, uid, line) is a USER with variables that expanded.
expanded_user(raw, value, uid, line) := object.union(user(value, uid, line), {"raw": raw})

# unresolved_user(raw, reason, line) is a USER whose expansion failed.
unresolved_user(raw, reason, line) := object.union(
	user("", null, line),
	{"raw": raw, "resolved": false, "reason": reason},
)

# inherited(x, stage) marks a user or command as set in an earlier stage.
inherited(x, stage) := object.union(x, {"inherited": true, "stage": stage})

exec(words, line) := {
	"form": "exec",
	"words": words,
	"raw": json.marshal(words),
	"inherited": false,
	"from_image": "",
	"stage": 0,
	"location": location(line),
}

shell(script, raw, line) := {
	"form": "shell",
	"words": ["/bin/sh", "-c", script],
	"raw": raw,
	"inherited": false,
	"from_image": "",
	"stage": 0,
	"location": location(line),
}

created(tool, name, uid, line) := {
	"name": name,
	"uid": uid,
	"uid_raw": uid_raw(uid),
	"tool": tool,
	"stage": 0,
	"location": location(line),
}

uid_raw(uid) := "" if uid == null

uid_raw(uid) := sprintf("%v", [uid]) if uid != null

from_image(image, repository, tag, digest, line) := {
	"image": image,
	"expanded": image,
	"resolved": true,
	"platform": "",
	"scratch": false,
	"stage": null,
	"repository": repository,
	"tag": tag,
	"digest": digest,
	"location": location(line),
}

from_stage(name, index, line) := object.union(
	from_image(name, "", "", "", line),
	{"stage": index},
)

from_scratch(line) := object.union(from_image("scratch", "", "", "", line), {"scratch": true})

from_unresolved(image, line) := object.union(
	from_image(image, "", "", "", line),
	{"expanded": "", "resolved": false},
)

stage(index, from, runs) := {
	"index": index,
	"name": "",
	"from": from,
	"chain": [index],
	"user": null,
	"entrypoint": null,
	"cmd": null,
	"env": {},
	"runs": runs,
	"users_created": [],
	"groups_created": [],
	"location": from.location,
}

run(mounts, commands, line) := {
	"json": false,
	"flags": [sprintf("--mount=%s", [m.raw]) | some m in mounts],
	"script": concat(" && ", [concat(" ", c.words) | some c in commands]),
	"mounts": mounts,
	"commands": commands,
	"parse_error": "",
	"stage": 0,
	"location": location(line),
}

# command(words) is a simple command; its name is the program's basename.
command(words) := {"name": name, "words": words} if {
	parts := split(words[0], "/")
	name := parts[count(parts) - 1]
}

cache_mount(target) := {"type": "cache", "target": target, "raw": sprintf("type=cache,target=%s", [target])}

bind_mount(target) := {"type": "bind", "target": target, "raw": sprintf("type=bind,target=%s", [target])}

# document(stages, final) is a Dockerfile whose last stage is built; final
# overrides the derived facts of the final stage.
document(stages, final) := {
	"kind": "dockerfile",
	"path": "Dockerfile",
	"escape": "\\",
	"directives": [],
	"global_args": [],
	"instructions": [],
	"stages": stages,
	"final_stage": last,
	"target": "",
	"final": object.union(
		{
			"stage": last,
			"chain": [last],
			"user": null,
			"entrypoint": null,
			"cmd": null,
			"users_created": [],
			"location": stages[last].from.location,
		},
		final,
	),
} if {
	last := count(stages) - 1
}

# doc(final) is a one-stage Dockerfile (FROM on line 1) with the given final
# facts.
doc(final) := document([stage(0, from_image("debian:12", "debian", "12", "", 1), [])], final)

# runs_doc(runs) is a one-stage Dockerfile with the given RUNs.
runs_doc(runs) := document([stage(0, from_image("debian:12", "debian", "12", "", 1), runs)], {})

# froms_doc(froms) is a Dockerfile with one stage per FROM.
froms_doc(froms) := document([stage(i, from, []) | some i, from in froms], {})

# samples use every builder once; the Go test validates them against the
# JSON schema.
samples := [
	doc({
		"user": user("1001:0", 1001, 5),
		"entrypoint": exec(["tini", "--"], 6),
		"cmd": shell("app", "app", 7),
		"users_created": [created("useradd", "dwfuser", 1001, 3), created("adduser", "app", null, 4)],
	}),
	doc({"user": inherited(expanded_user("${UID}", "1001", 1001, 5), 0), "entrypoint": inherited(exec([], 6), 0)}),
	doc({"user": unresolved_user("${UID}", "variable UID is not set", 5)}),
	runs_doc([
		run([cache_mount("/root/.cache/pip"), bind_mount("/src")], [command(["/usr/bin/pip", "install", "x"])], 2),
		run([], [], 3),
	]),
	froms_doc([
		from_image("golang:1.23", "golang", "1.23", "", 1),
		from_stage("build", 0, 5),
		from_scratch(9),
		from_unresolved("${BASE}", 12),
	]),
]
