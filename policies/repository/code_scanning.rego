# METADATA
# title: CodeQL must scan the code on pushes to the default branch and on pull requests
# description: |
#   The first scanning layer of the Devflow standard: some workflow runs
#   CodeQL (a job with `github/codeql-action/init` and
#   `github/codeql-action/analyze`, directly or in a local reusable
#   workflow it calls) on `push` to the default branch (a branch named in
#   `scans.default_branches`: main or master by default) and on
#   `pull_request` into it. Each repository (the directory holding a
#   `.github/workflows`) is judged on its own. The finding points at the
#   `on:` of the workflow that runs CodeQL with a trigger missing, else at
#   the `on:` of the first workflow run by pushes or pull requests (where
#   a CodeQL job fits), else at line 1 of the first workflow. A repository
#   without any workflow gets no finding: it does not use GitHub Actions
#   (it may run its CI elsewhere), and nothing in it is a place for the
#   finding.
# schemas:
#   - input: schema.repository
# custom:
#   id: DWF207
#   severity: warning
#   kind: repository
#   inputs: [workflow]
#   help: |
#     Add a CodeQL workflow that runs on pushes to the default branch and
#     on pull requests:
#
#     ```yaml
#     on:
#       push:
#         branches: [main]
#       pull_request:
#     permissions:
#       contents: read
#     jobs:
#       codeql:
#         runs-on: ubuntu-latest
#         permissions:
#           security-events: write
#         steps:
#           - uses: actions/checkout@<sha> # v4
#           - uses: github/codeql-action/init@<sha> # v3
#             with:
#               languages: go
#           - uses: github/codeql-action/analyze@<sha> # v3
#     ```
package dwf.repository.code_scanning

import data.dwf.lib.repository as lib

codeql_step(step, part) if {
	u := step.uses
	is_object(u)
	u.kind == "remote"
	lower(u.owner) == "github"
	lower(u.repo) == "codeql-action"
	trim_suffix(u.path, "/") == part
}

runs_codeql(doc) if {
	some job in doc.input.jobs
	some init in job.steps
	codeql_step(init, "init")
	lib.runs(job, init)
	some analyze in job.steps
	codeql_step(analyze, "analyze")
	lib.runs(job, analyze)
}

codeql_paths := {d.path | some d in lib.workflows; runs_codeql(d)}

# reaching(r) is the workflows of r that run CodeQL themselves or through
# a reusable workflow, sorted by path.
reaching(r) := [d |
	some d in lib.in_root(r)
	some p in lib.reach(d)
	p in codeql_paths
]

default on_push(_) := false

on_push(r) if {
	some d in reaching(r)
	some e in lib.own_events(d)
	e.name == "push"
	lib.on_default_branch(e)
}

default on_pr(_) := false

on_pr(r) if {
	some d in reaching(r)
	some e in lib.own_events(d)
	e.name == "pull_request"
	lib.on_default_branch(e)
	lib.pr_types(e)
}

deny contains finding if {
	some r in lib.roots
	count(reaching(r)) > 0
	ms := missing_text(r)
	count(ms) > 0
	d := reached_root(r)
	msg := sprintf("`%s` runs CodeQL, but not %s, so code scanning misses changes; add the missing trigger under `on:`.", [d.path, concat(" nor ", ms)])
	finding := {"msg": msg, "location": d.input.on.location, "path": d.path}
}

deny contains finding if {
	some r in lib.roots
	count(reaching(r)) == 0
	[path, location] := anchor(r)
	msg := sprintf("No workflow%s runs CodeQL (`github/codeql-action/init` and `analyze`) on pushes to the default branch and on pull requests, so code is never scanned for vulnerabilities; add a CodeQL job.", [lib.root_text(r)])
	finding := {"msg": msg, "location": location, "path": path}
}

# missing_text(r) names the triggers r's CodeQL lacks, push first.
missing_text(r) := [m | some [m, ok] in [[push_text, on_push(r)], [pr_text, on_pr(r)]]; not ok]

push_text := sprintf("on `push` to the default branch (%s)", [concat(" or ", lib.default_branches)])

pr_text := "on `pull_request` into the default branch"

# reached_root(r) is the workflow a missing trigger belongs to: the first
# that runs CodeQL with triggers of its own, else the first that runs it.
reached_root(r) := d if {
	own := [w | some w in reaching(r); count(lib.own_events(w)) > 0]
	d := array.concat(own, reaching(r))[0]
}

# anchor(r) is where a repository without CodeQL gets its finding.
anchor(r) := [d.path, d.input.on.location] if {
	cands := [w |
		some w in lib.in_root(r)
		some e in lib.own_events(w)
		e.name in {"push", "pull_request"}
	]
	d := cands[0]
}

anchor(r) := [d.path, lib.first_line] if {
	not any_ci(r)
	d := lib.in_root(r)[0]
}

any_ci(r) if {
	some w in lib.in_root(r)
	some e in lib.own_events(w)
	e.name in {"push", "pull_request"}
}
