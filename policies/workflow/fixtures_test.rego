# Builders for workflow and repository documents shaped like
# engine/document/schemas/workflow.json and repository.json, for the rule
# tests. Each builder fills every required field so a test states only what
# matters to it; engine/input/workflow's Go tests check `samples` against
# the schemas so the builders cannot drift.
package dwf.workflow.fixtures_test

loc(line, col) := {"line": line, "column": col, "end_line": line, "end_column": col + 4}

# merge(a, b) is a with b's keys replaced (not merged recursively).
merge(a, b) := object.union(object.remove(a, object.keys(b)), b)

event(name, line) := {
	"name": name, "location": loc(line, 5),
	"types": null, "branches": null, "branches_ignore": null, "tags": null,
	"tags_ignore": null, "paths": null, "paths_ignore": null, "workflows": null,
}

# pattern(value, regex, line) is a filter pattern as written (with its `!`)
# and the regular expression engine/analysis/ghfilter makes of it.
pattern(value, regex, line) := {"value": value, "location": loc(line, 9), "negated": startswith(value, "!"), "regex": regex}

# filtered(name, line, filters) is an event with filters, such as
# {"paths": [pattern("src/**", "^src/.*$", 3)]}.
filtered(name, line, filters) := merge(event(name, line), filters)

schedule(cron, daily, line) := {"cron": cron, "timezone": "", "daily": daily, "location": loc(line, 13)}

permissions(all, scopes, line) := {"all": all, "scopes": scopes, "location": loc(line, 14), "key_location": loc(line, 1)}

scope(level, line) := {"level": level, "location": loc(line, 3)}

read_only := permissions("", {"contents": scope("read", 3)}, 2)

workflow(fields) := merge(
	{
		"kind": "workflow", "path": ".github/workflows/ci.yml", "name": null,
		"on": {"location": loc(1, 1), "events": [event("push", 1)], "schedules": []},
		"permissions": read_only, "env": {}, "env_expression": null, "defaults": null, "jobs": [],
	},
	fields,
)

job(id, line, fields) := merge(
	{
		"id": id, "location": loc(line, 3), "name": null, "runs_on": [], "if": null,
		"permissions": null, "continue_on_error": null, "env": {}, "env_expression": null,
		"defaults": null, "uses": null, "with": {}, "matrix": false, "matrix_values": null, "steps": [],
	},
	fields,
)

step(index, line, fields) := merge(
	{
		"index": index, "id": null, "name": null, "location": loc(line, 9), "if": null,
		"continue_on_error": null, "env": {}, "env_expression": null, "uses": null,
		"with": {}, "run": null, "trivy_scans": [],
	},
	fields,
)

# one_step(s) is a workflow with one job holding step s.
one_step(s) := workflow({"jobs": [job("scan", 5, {"steps": [s]})]})

uses(value, kind, owner, repo, path, ref, ref_kind, line) := {
	"value": value, "kind": kind, "owner": owner, "repo": repo, "path": path,
	"ref": ref, "ref_kind": ref_kind, "image": "", "location": loc(line, 15),
}

action(owner, repo, ref, ref_kind, line) := uses(sprintf("%s/%s@%s", [owner, repo, ref]), "remote", owner, repo, "", ref, ref_kind, line)

input_value(name, value, line) := {"name": name, "value": value, "expression": contains(value, "${{"), "location": loc(line, 22)}

condition(value, always_false, line) := {"value": value, "always_false": always_false, "location": loc(line, 13)}

continue_on_error(value, expression, line) := {"value": value, "expression": expression, "location": loc(line, 28)}

setting(value, source, line) := {"value": value, "source": source, "resolved": true, "expression": false, "location": loc(line, 20)}

expression_setting(value, source, line) := merge(setting(value, source, line), {"resolved": false, "expression": true})

exit_code(value, source, code, line) := merge(setting(value, source, line), {"code": code})

list_setting(value, source, list, line) := merge(setting(value, source, line), {"list": list})

default_severity(line) := list_setting("", "default", null, line)

# scan(tool, line, fields) is a Trivy image scan that gates on CRITICAL,HIGH
# unless fields say otherwise; its subcommands follow its subcommand unless
# fields give them.
scan(tool, line, fields) := merge(base, {"subcommands": object.get(fields, "subcommands", [base.subcommand])}) if {
	base := merge(
		{
			"tool": tool, "subcommand": "image", "subcommand_raw": "image",
			"command": "trivy image --exit-code 1 --severity CRITICAL,HIGH app", "target": "app",
			"exit_code": exit_code("1", "flag", 1, line),
			"severity": list_setting("CRITICAL,HIGH", "flag", ["CRITICAL", "HIGH"], line),
			"scanners": list_setting("", "default", null, line),
			"format": setting("table", "default", line), "config": null,
			"propagation": "fails_step", "neutralised": null, "also_neutralised": [], "location": loc(line, 11),
		},
		fields,
	)
}

neutralised(kind, text, line) := {"kind": kind, "text": text, "location": loc(line, 40)}

run_step(index, line, scans) := step(index, line, {"run": run(line), "trivy_scans": scans})

run(line) := {
	"script": "trivy image app", "location": loc(line, 9), "value_location": loc(line, 14),
	"shell": {
		"name": "bash", "command": "bash -e {0}", "source": "default", "errexit": true,
		"pipefail": false, "supported": true, "location": null,
	},
	"working_directory": null, "parse_error": "", "commands": [],
}

repository(docs) := repository_files(docs, [])

# repository_files(docs, files) also lists the repository's Dockerfiles and
# lockfiles, as [{"path": ..., "kind": "dockerfile" | "lockfile"}].
repository_files(docs, files) := {
	"kind": "repository",
	"documents": [{"path": d.path, "kind": "workflow", "input": d} | some d in docs],
	"files": files,
}

# Samples the Go tests validate against the schemas.
samples := [
	workflow({}),
	workflow({"permissions": null, "name": {"value": "ci", "location": loc(1, 7)}}),
	one_step(run_step(0, 9, [scan("trivy", 10, {
		"neutralised": neutralised("or", "|| true", 10), "propagation": "ignored",
		"config": {
			"path": "trivy.yaml", "explicit": false, "status": "not_found", "error": "",
			"exit_code": null, "severity": null, "scanners": null, "format": null, "location": loc(10, 11),
		},
	})])),
	one_step(step(0, 9, {
		"uses": action("aquasecurity", "trivy-action", "0.28.0", "tag", 9),
		"with": {"exit-code": input_value("exit-code", "1", 11)},
		"if": condition("false", true, 10),
		"continue_on_error": continue_on_error(true, null, 12),
		"trivy_scans": [scan("trivy-action", 9, {"exit_code": exit_code("${{ inputs.x }}", "input", null, 11)})],
	})),
	workflow({"jobs": [job("call", 5, {
		"uses": uses("./.github/workflows/scan.yml", "local", "", "", "./.github/workflows/scan.yml", "", "none", 6),
		"permissions": permissions("write-all", {}, 7),
		"continue_on_error": continue_on_error(null, "${{ matrix.x }}", 8),
	})]}),
]

repository_samples := [
	repository(samples),
	repository_files(
		[workflow({
			"on": {"location": loc(1, 1), "events": [filtered("push", 2, {"paths": [pattern("!docs/**", "^docs/.*$", 4)]})], "schedules": []},
			"jobs": [job("scan", 5, {"matrix": true, "matrix_values": {"mode": ["fs", "config"]}})],
		})],
		[{"path": "Dockerfile", "kind": "dockerfile"}, {"path": "go.sum", "kind": "lockfile"}],
	),
]
